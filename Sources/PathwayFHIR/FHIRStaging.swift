import PathwayAPI
import PathwayCore

/// One TNM or stage-group Observation, waiting to be combined into a `staging` event: mCODE
/// sends T, N and M as separate Observations (the stage group lists them in `hasMember`), the
/// contract's staging event carries them together.
struct StagingPart {
    var index: Int
    var id: String
    var eventId: String
    var patientId: String?
    var at: String
    var term: TerminologyEntry
    var reader: ResourceReader

    /// `t`, `n`, `m` or `stageGroup`.
    var slot: String { String(term.fact.dropFirst("staging.".count)) }
}

extension Context {
    /// Makes staging events of the parts: each stage group with the members it lists, then the
    /// remaining T, N and M of one patient, time and method together. A staging event needs T, N,
    /// M and the edition; what lacks one of them is reported on every part, never guessed.
    mutating func combineStaging(into entries: inout [FHIRMapping.Entry]) {
        var used: Set<Int> = []
        var sets: [[StagingPart]] = []
        for group in staging where group.slot == "stageGroup" {
            var set = [group]
            used.insert(group.index)
            for member in (try? group.reader.objects("hasMember")) ?? [] {
                guard case .string(let reference)? = member["reference"],
                    let id = referencedId(reference, type: "Observation", fullUrls: fullUrls),
                    let part = staging.first(where: { $0.id == id && $0.slot != "stageGroup" })
                else { continue }
                set.append(part)
                used.insert(part.index)
            }
            sets.append(set)
        }
        var loose: [String: [StagingPart]] = [:]
        var order: [String] = []
        for part in staging where !used.contains(part.index) {
            let key = "\(part.patientId ?? "")|\(part.at)|\(method(of: part) ?? "")"
            if loose[key] == nil { order.append(key) }
            loose[key, default: []].append(part)
        }
        sets += order.map { loose[$0]! }
        for set in sets { make(set, into: &entries) }
    }

    private func make(_ set: [StagingPart], into entries: inout [FHIRMapping.Entry]) {
        let owner = set.first { $0.slot == "stageGroup" } ?? set.first { $0.slot == "t" } ?? set[0]
        var data: [String: JSONValue] = [:]
        var problems: [FHIRResultV1.Issue] = []
        var notes: [Int: [FHIRResultV1.Issue]] = [:]
        let absent = ["t", "n", "m"].filter { slot in !set.contains { $0.slot == slot } }
        if !absent.isEmpty {
            problems.append(
                unmapped(
                    "Observation.hasMember",
                    "a staging event needs T, N and M together; no \(absent.map { $0.uppercased() }.joined(separator: ", ")) Observation of the same patient, time and method is in the bundle"
                ))
        }
        for slot in ["t", "n", "m"] {
            let parts = set.filter { $0.slot == slot }
            guard let part = parts.first else { continue }
            for extra in parts.dropFirst() {
                notes[extra.index, default: []].append(
                    unmapped(
                        "Observation", "a second \(slot.uppercased()) for the same staging; entry \(part.index) is used"
                    ))
            }
            switch value(of: part) {
            case .success(let (value, issue)):
                data[slot] = .string(value)
                if let issue { notes[part.index, default: []].append(issue) }
            case .failure(let problem): problems.append(unmapped(problem.element, problem.message))
            }
        }
        if let group = set.first(where: { $0.slot == "stageGroup" }) {
            let codings = (try? group.reader.codings("valueCodeableConcept")) ?? []
            if let value = codings.lazy.compactMap({ self.category($0, in: Vocabulary.stageGroups) }).first {
                data["stageGroup"] = .string(value.value)
            } else if !codings.isEmpty {
                notes[group.index, default: []].append(
                    note(
                        "Observation.valueCodeableConcept",
                        "the reported stage group (\(codings.map(\.text).joined(separator: ", "))) is not read: the daemon derives its own from T, N and M"
                    ))
            }
        }
        if let edition = edition(of: set) {
            data["edition"] = .string(edition)
        } else {
            problems.append(
                unmapped(
                    "Observation.method",
                    "the staging edition is needed: AJCC 8th (SNOMED 897275008) or UICC TNM 9 (NCIT C188404) — T, N and M mean different things in each"
                ))
        }
        let methods = Set(set.compactMap(method(of:)))
        if methods.count > 1 {
            problems.append(
                unmapped("Observation.code", "clinical and pathological categories are mixed in one staging"))
        } else if let method = methods.first {
            data["method"] = .string(method)
        }
        for (index, issues) in notes { entries[index].issues += issues }
        guard problems.isEmpty, let patientId = owner.patientId else {
            for part in set { entries[part.index].issues += problems }
            return
        }
        let others = set.filter { $0.index != owner.index }
        let eventId =
            others.isEmpty
            ? owner.eventId : owner.eventId + "+" + fnv1a(others.map(\.eventId).sorted().joined(separator: ","))
        for part in others {
            entries[part.index].issues.append(
                note("Observation", "combined into the staging event of entry \(owner.index)"))
        }
        entries[owner.index].events.append(
            FHIRMapping.MappedEvent(
                id: eventId, patientId: patientId, type: "staging",
                json: [
                    "id": .string(eventId), "patientId": .string(patientId), "type": "staging",
                    "occurredAt": .string(owner.at), "source": "fhir", "data": .object(data),
                ]))
    }

    /// `clinical` or `pathological`: from the terminology entry of the code (cT or pT), else from
    /// the AJCC value's prefix.
    private func method(of part: StagingPart) -> String? {
        if let method = part.term.method { return method }
        let codings = (try? part.reader.codings("valueCodeableConcept")) ?? []
        for coding in codings where coding.system == FHIRMapper.ajcc {
            if coding.code.hasPrefix("c") { return "clinical" }
            if coding.code.hasPrefix("p") { return "pathological" }
        }
        return nil
    }

    /// The edition from `Observation.method` of the group, else of any part.
    private func edition(of set: [StagingPart]) -> String? {
        for part in set {
            let codings = (try? part.reader.codings("method")) ?? []
            if let (term, _) = mapper.lookup(codings, where: { $0.fact == "staging.edition" }), let value = term.value {
                return value
            }
        }
        return nil
    }

    /// The category of a T, N or M Observation: a terminology entry for the value code, or an
    /// AJCC code (`cT2`, `pN1`, `M0`). A subcategory (`T1a`, `M1b`) is read as its category.
    private func value(of part: StagingPart) -> Result<(String, FHIRResultV1.Issue?), EntryProblem> {
        let codings: [Coding]
        do { codings = try part.reader.codings("valueCodeableConcept") } catch { return .failure(error) }
        if let (term, coding) = mapper.lookup(codings, where: { $0.fact == part.term.fact && $0.value != nil }) {
            let issue =
                term.status == "verified"
                ? nil
                : FHIRResultV1.Issue(
                    severity: "unverified", element: "Observation.valueCodeableConcept",
                    message:
                        "\(coding.text) read as \(term.value!) through an unverified terminology entry (\(term.cite))")
            return .success((term.value!, issue))
        }
        let vocabulary =
            switch part.slot {
            case "t": Vocabulary.tCategories
            case "n": Vocabulary.nCategories
            default: Vocabulary.mCategories
            }
        for coding in codings {
            guard let (value, subcategory) = category(coding, in: vocabulary) else { continue }
            return .success(
                (
                    value,
                    subcategory
                        ? note("Observation.valueCodeableConcept", "\(coding.code) read as its category \(value)") : nil
                ))
        }
        return .failure(
            EntryProblem(
                element: "Observation.valueCodeableConcept",
                message: codings.isEmpty
                    ? "no coded category"
                    : "\(codings.map(\.text).joined(separator: ", ")): not an AJCC category (\(FHIRMapper.ajcc)) nor a code in Rules/terminology.yaml"
            ))
    }

    /// An AJCC code (`cT2`, `pN1`, `IIB`) as a word of `vocabulary`, with whether a subcategory
    /// letter was dropped.
    private func category(_ coding: Coding, in vocabulary: [String]) -> (value: String, subcategory: Bool)? {
        guard coding.system == FHIRMapper.ajcc else { return nil }
        var code = Substring(coding.code)
        if let first = code.first, "cp".contains(first) { code = code.dropFirst() }
        if vocabulary.contains(String(code)) { return (String(code), false) }
        if let last = code.last, "abcd".contains(last), vocabulary.contains(String(code.dropLast())),
            code.count > 2
        {
            return (String(code.dropLast()), true)
        }
        return nil
    }
}

/// 64-bit FNV-1a as 16 hex digits: a short, stable name for a set of member ids (not a security
/// property: it only keeps a combined event's id different when its members change).
func fnv1a(_ text: String) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in text.utf8 {
        hash ^= UInt64(byte)
        hash = hash &* 0x0000_0100_0000_01b3
    }
    let hex = String(hash, radix: 16)
    return String(repeating: "0", count: 16 - hex.count) + hex
}
