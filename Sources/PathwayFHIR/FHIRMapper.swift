import PathwayAPI
import PathwayCore

/// A bundle that is not FHIR R4 JSON of the kinds accepted: answered `400`, naming the element.
public struct FHIRBundleError: Error, Sendable, Hashable {
    public var element: String
    public var message: String
}

/// What a bundle becomes: per entry, the contract events made of it and the issues met.
public struct FHIRMapping: Sendable {
    public struct MappedEvent: Sendable {
        public var id: String
        public var patientId: String
        public var type: String
        /// The contract event (§3), to be checked by `EventDecoder` like any posted event.
        public var json: JSONValue
    }

    public struct Entry: Sendable {
        public var index: Int
        /// `Type/id` and `/_history/version` when versioned.
        public var resource: String?
        public var events: [MappedEvent]
        public var issues: [FHIRResultV1.Issue]
        /// `fhir:Type/id`: the resource whose events from other versions this entry replaces
        /// (they are retracted). Set for every identified resource and for a `DELETE`.
        public var supersedes: String?
        /// The patient the resource belongs to, when known (also for an entry that made no event).
        public var patientId: String?
    }

    public var entries: [Entry]
}

/// Turns an HL7 FHIR R4 `Bundle` of mCODE-shaped resources into contract events (§7), reading
/// codes through the terminology maps of the rules (`terminology:` in `Rules/terminology.yaml`),
/// so a new code is a YAML change. Pure: no I/O, no clock — the same bundle and rules give the
/// same events, so re-posting a bundle is idempotent.
///
/// Event ids are `fhir:<type>/<id>`, with `/_history/<versionId>` when the resource is versioned;
/// a staging event made of several Observations adds `+` and a digest of its members. The
/// patient is the FHIR `Patient.id` the resource's `subject` (or `patient`) refers to.
public struct FHIRMapper: Sendable {
    let entries: [String: [TerminologyEntry]]

    public init(terminology: [TerminologyEntry]) {
        entries = Dictionary(grouping: terminology) { "\($0.system)|\($0.code)" }
    }

    public static let bundleTypes = ["collection", "transaction", "batch", "searchset"]
    static let histologyExtension =
        "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-histology-morphology-behavior"
    static let ajcc = "http://cancerstaging.org"
    static let ucum = "http://unitsofmeasure.org"

    public func map(_ bundle: JSONValue) throws(FHIRBundleError) -> FHIRMapping {
        guard case .object(let members) = bundle else {
            throw FHIRBundleError(element: "Bundle", message: "the body must be a FHIR R4 Bundle (a JSON object)")
        }
        guard case .string("Bundle")? = members["resourceType"] else {
            throw FHIRBundleError(element: "resourceType", message: "must be \"Bundle\"")
        }
        guard case .string(let type)? = members["type"], Self.bundleTypes.contains(type) else {
            throw FHIRBundleError(
                element: "Bundle.type", message: "must be one of \(Self.bundleTypes.joined(separator: ", "))")
        }
        var timestamp: String?
        if let value = members["timestamp"] {
            guard case .string(let text) = value else {
                throw FHIRBundleError(element: "Bundle.timestamp", message: "must be a string")
            }
            timestamp = text
        }
        guard case .array(let items)? = members["entry"], !items.isEmpty else {
            throw FHIRBundleError(element: "Bundle.entry", message: "required: an array of entries")
        }
        var raw: [(fullUrl: String?, resource: [String: JSONValue]?, request: [String: JSONValue]?)] = []
        for (index, item) in items.enumerated() {
            guard case .object(let entry) = item else {
                throw FHIRBundleError(element: "Bundle.entry[\(index)]", message: "must be an object")
            }
            var fullUrl: String?
            if let value = entry["fullUrl"] {
                guard case .string(let text) = value else {
                    throw FHIRBundleError(element: "Bundle.entry[\(index)].fullUrl", message: "must be a string")
                }
                fullUrl = text
            }
            var resource: [String: JSONValue]?
            if let value = entry["resource"] {
                guard case .object(let object) = value, case .string? = object["resourceType"] else {
                    throw FHIRBundleError(
                        element: "Bundle.entry[\(index)].resource", message: "must be a resource with a resourceType")
                }
                resource = object
            }
            var request: [String: JSONValue]?
            if let value = entry["request"] {
                guard case .object(let object) = value else {
                    throw FHIRBundleError(element: "Bundle.entry[\(index)].request", message: "must be an object")
                }
                request = object
            }
            raw.append((fullUrl, resource, request))
        }
        var context = Context(mapper: self, timestamp: timestamp)
        for (index, entry) in raw.enumerated() {
            guard let resource = entry.resource, case .string(let type)? = resource["resourceType"] else { continue }
            let id: String? = if case .string(let id)? = resource["id"] { id } else { nil }
            if let id {
                context.resources["\(type)/\(id)"] = (index, resource)
                if let fullUrl = entry.fullUrl { context.fullUrls[fullUrl] = id }
            }
        }
        var mapped: [FHIRMapping.Entry] = []
        for (index, entry) in raw.enumerated() {
            mapped.append(context.map(index: index, resource: entry.resource, request: entry.request))
        }
        context.combineStaging(into: &mapped)
        return FHIRMapping(entries: mapped)
    }

    /// The terminology entries of the first coding that has any, with that coding.
    func lookup(_ codings: [Coding], where accept: (TerminologyEntry) -> Bool = { _ in true }) -> (
        TerminologyEntry, Coding
    )? {
        for coding in codings {
            if let entry = entries["\(coding.system)|\(coding.code)"]?.first(where: accept) { return (entry, coding) }
        }
        return nil
    }
}

/// The state of mapping one bundle.
struct Context {
    let mapper: FHIRMapper
    let timestamp: String?
    /// `Type/id` → entry index and resource.
    var resources: [String: (index: Int, resource: [String: JSONValue])] = [:]
    /// `fullUrl` → resource id.
    var fullUrls: [String: String] = [:]
    /// Staging Observations, read but combined after every entry is seen.
    var staging: [StagingPart] = []

    mutating func map(index: Int, resource: [String: JSONValue]?, request: [String: JSONValue]?) -> FHIRMapping.Entry {
        var entry = FHIRMapping.Entry(index: index, resource: nil, events: [], issues: [])
        if let request, case .string("DELETE")? = request["method"] {
            guard case .string(let url)? = request["url"] else {
                entry.issues.append(unmapped("Bundle.entry.request.url", "a DELETE needs the url of the resource"))
                return entry
            }
            let parts = url.split(separator: "?")[0].split(separator: "/").suffix(2)
            guard parts.count == 2 else {
                entry.issues.append(unmapped("Bundle.entry.request.url", "\"\(url)\" does not name a resource"))
                return entry
            }
            entry.resource = parts.joined(separator: "/")
            entry.supersedes = "fhir:" + parts.joined(separator: "/")
            entry.issues.append(
                note("Bundle.entry.request", "deleted: the events made of \(entry.resource!) are retracted"))
            return entry
        }
        guard let resource, case .string(let type)? = resource["resourceType"] else {
            entry.issues.append(unmapped("Bundle.entry.resource", "the entry holds no resource"))
            return entry
        }
        let reader = ResourceReader(type: type, members: resource)
        do throws(EntryProblem) {
            guard let id = try reader.string("id") else {
                throw EntryProblem(element: "\(type).id", message: "an event id is derived from the resource id")
            }
            var version: String?
            if let meta = try reader.object("meta") { version = try reader.string("versionId", in: meta, at: "meta") }
            entry.resource = "\(type)/\(id)" + (version.map { "/_history/\($0)" } ?? "")
            entry.supersedes = "fhir:\(type)/\(id)"
            let eventId = "fhir:" + entry.resource!
            guard eventId.utf8.count <= 96 else {
                throw EntryProblem(element: "\(type).id", message: "id and versionId are too long for an event id")
            }
            var made = Made(eventId: eventId, reader: reader)
            switch type {
            case "Patient": try patient(&made, id: id)
            case "Condition": try condition(&made)
            case "Observation": try observation(&made, index: index, id: id)
            case "AllergyIntolerance": try allergy(&made)
            case "MedicationStatement", "MedicationRequest": try medication(&made)
            case "Procedure": try procedure(&made)
            case "MedicationAdministration":
                throw EntryProblem(
                    element: "MedicationAdministration",
                    message:
                        "lines of therapy cannot be told apart from single administrations (a regimen's drugs would count as separate lines); send one `treatment` event per line. Treatment history is closed-world: until then this treatment is not counted"
                )
            default:
                throw EntryProblem(element: type, message: "\(type) resources are not read")
            }
            entry.patientId = made.patientId
            entry.issues += made.issues
            if let event = made.event { entry.events.append(event) }
        } catch {
            entry.issues.append(unmapped(error.element, error.message))
        }
        return entry
    }

    // MARK: Shared

    /// The patient id a reference element (`subject`, `patient`) points at.
    func subject(_ reader: ResourceReader, _ element: String) throws(EntryProblem) -> String {
        guard let object = try reader.object(element),
            let reference = try reader.string("reference", in: object, at: element)
        else {
            throw EntryProblem(element: reader.path(element), message: "required: the patient this is about")
        }
        guard let id = referencedId(reference, type: "Patient", fullUrls: fullUrls) else {
            throw EntryProblem(
                element: reader.path(element + ".reference"), message: "\"\(reference)\" does not name a Patient")
        }
        return id
    }

    /// The first of `elements` present (or `period.start`), else `meta.lastUpdated`, else the
    /// bundle's timestamp, else `fallback`; as RFC 3339.
    func time(_ reader: ResourceReader, _ elements: [String], period: String? = nil, fallback: String? = nil)
        throws(EntryProblem) -> String
    {
        for element in elements {
            if let text = try reader.string(element) { return try rfc3339(text, element: reader.path(element)) }
        }
        if let period, let object = try reader.object(period),
            let start = try reader.string("start", in: object, at: period)
        {
            return try rfc3339(start, element: reader.path(period + ".start"))
        }
        if let meta = try reader.object("meta"), let updated = try reader.string("lastUpdated", in: meta, at: "meta") {
            return try rfc3339(updated, element: reader.path("meta.lastUpdated"))
        }
        if let timestamp { return try rfc3339(timestamp, element: "Bundle.timestamp") }
        if let fallback { return try rfc3339(fallback, element: reader.path("birthDate")) }
        let named = (elements + (period.map { [$0 + ".start"] } ?? []) + ["meta.lastUpdated"]).joined(separator: ", ")
        throw EntryProblem(
            element: reader.path(elements.first ?? "meta.lastUpdated"),
            message: "a time is needed: one of \(named), or Bundle.timestamp")
    }

    func noEntry(_ codings: [Coding]) -> String {
        codings.isEmpty
            ? "no coding"
            : "no terminology entry for " + codings.map(\.text).joined(separator: ", ")
                + " (Rules/terminology.yaml maps the codes read)"
    }
}

/// What one resource is becoming.
struct Made {
    let eventId: String
    let reader: ResourceReader
    var patientId: String?
    var event: FHIRMapping.MappedEvent?
    var issues: [FHIRResultV1.Issue] = []
    /// A staging part, made into an event once every entry is read.
    var deferred = false

    init(eventId: String, reader: ResourceReader) {
        self.eventId = eventId
        self.reader = reader
    }

    mutating func make(_ type: String, at: String, _ data: [String: JSONValue]) {
        guard let patientId else { return }
        event = FHIRMapping.MappedEvent(
            id: eventId, patientId: patientId, type: type,
            json: [
                "id": .string(eventId), "patientId": .string(patientId), "type": .string(type),
                "occurredAt": .string(at), "source": "fhir", "data": .object(data),
            ])
    }

    /// Notes a code mapped through an entry the terminology marks unverified.
    mutating func flag(_ term: TerminologyEntry, _ coding: Coding, element: String) {
        guard term.status != "verified" else { return }
        issues.append(
            FHIRResultV1.Issue(
                severity: "unverified", element: element,
                message:
                    "\(coding.system)|\(coding.code) read as \(term.fact)\(term.value.map { " = \($0)" } ?? "") through an unverified terminology entry (\(term.cite)); check the code"
            ))
    }
}

func unmapped(_ element: String, _ message: String) -> FHIRResultV1.Issue {
    FHIRResultV1.Issue(severity: "unmapped", element: element, message: message)
}

func note(_ element: String, _ message: String) -> FHIRResultV1.Issue {
    FHIRResultV1.Issue(severity: "note", element: element, message: message)
}
