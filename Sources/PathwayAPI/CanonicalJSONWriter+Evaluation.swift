/// The evaluation document of contract §5 and its parts, written directly: keys in the order
/// `JSONEncoder`'s `.sortedKeys` writes them, absent optionals left out.

extension EvaluationV1: CanonicalJSONWritable {
    public func write(to w: inout CanonicalJSONWriter) {
        w.beginObject()
        w.member("alerts", alerts)
        w.member("decisionId", decisionId)
        w.key("derived")
        w.object(derived) { writer, value in writer.json(value) }
        w.member("evaluatedAt", evaluatedAt)
        w.member("future", future)
        w.member("missingData", missingData)
        w.member("options", options)
        w.member("pathway", pathway)
        w.member("patientId", patientId)
        w.member("rules", rules)
        w.member("setting", setting)
        w.member("summary", summary)
        w.member("trials", trials)
        w.endObject()
    }
}

extension FutureEventV1: CanonicalJSONWritable {
    public func write(to w: inout CanonicalJSONWriter) {
        w.beginObject()
        w.member("eventId", eventId)
        w.member("occurredAt", occurredAt)
        w.member("type", type)
        w.endObject()
    }
}

extension RulesInfoV1: CanonicalJSONWritable {
    public func write(to w: inout CanonicalJSONWriter) {
        w.beginObject()
        w.member("packs", packs)
        w.member("revision", revision)
        w.endObject()
    }
}

extension RulesInfoV1.Pack: CanonicalJSONWritable {
    public func write(to w: inout CanonicalJSONWriter) {
        w.beginObject()
        w.member("id", id)
        w.member("version", version)
        w.endObject()
    }
}

extension OptionV1: CanonicalJSONWritable {
    public func write(to w: inout CanonicalJSONWriter) {
        w.beginObject()
        w.member("cautions", cautions)
        w.member("evidence", evidence)
        w.member("id", id)
        w.member("kind", kind)
        w.member("label", label)
        w.key("missing")
        w.strings(missing)
        w.member("rank", rank)
        w.member("reasons", reasons)
        w.member("status", status)
        w.endObject()
    }
}

extension ReasonV1: CanonicalJSONWritable {
    public func write(to w: inout CanonicalJSONWriter) {
        w.beginObject()
        w.member("condition", condition)
        w.member("result", result)
        w.member("text", text)
        w.member("values", values)
        w.endObject()
    }
}

extension FactValueV1: CanonicalJSONWritable {
    public func write(to w: inout CanonicalJSONWriter) {
        w.beginObject()
        w.member("fact", fact)
        w.key("value")
        w.json(value)
        w.endObject()
    }
}

extension EvidenceV1: CanonicalJSONWritable {
    public func write(to w: inout CanonicalJSONWriter) {
        w.beginObject()
        w.member("cite", cite)
        w.member("level", level)
        w.member("nct", nct)
        w.member("note", note)
        w.member("source", source)
        w.member("title", title)
        w.member("url", url)
        w.endObject()
    }
}

extension CautionV1: CanonicalJSONWritable {
    public func write(to w: inout CanonicalJSONWriter) {
        w.beginObject()
        w.member("cite", cite)
        w.member("text", text)
        w.endObject()
    }
}

extension TrialV1: CanonicalJSONWritable {
    public func write(to w: inout CanonicalJSONWriter) {
        w.beginObject()
        w.member("acronym", acronym)
        w.member("cite", cite)
        w.member("criteria", criteria)
        w.member("id", id)
        w.key("notes")
        w.strings(notes)
        w.member("outsidePopulation", outsidePopulation)
        w.member("recruitment", recruitment)
        w.member("status", status)
        w.member("title", title)
        w.member("url", url)
        w.endObject()
    }
}

extension CriterionV1: CanonicalJSONWritable {
    public func write(to w: inout CanonicalJSONWriter) {
        w.beginObject()
        w.member("cite", cite)
        w.member("id", id)
        w.member("kind", kind)
        w.member("reason", reason)
        w.member("reference", reference)
        w.member("result", result)
        w.member("text", text)
        w.member("values", values)
        w.endObject()
    }
}

extension MissingFactV1: CanonicalJSONWritable {
    public func write(to w: inout CanonicalJSONWriter) {
        w.beginObject()
        w.member("decides", decides)
        w.member("fact", fact)
        w.key("neededBy")
        w.strings(neededBy)
        w.endObject()
    }
}

extension AlertV1: CanonicalJSONWritable {
    public func write(to w: inout CanonicalJSONWriter) {
        w.beginObject()
        w.member("cite", cite)
        w.member("id", id)
        w.member("severity", severity)
        w.member("text", text)
        w.endObject()
    }
}

extension ReferenceV1: CanonicalJSONWritable {
    public func write(to w: inout CanonicalJSONWriter) {
        w.beginObject()
        w.member("title", title)
        w.member("url", url)
        w.endObject()
    }
}

extension SummaryV1: CanonicalJSONWritable {
    public func write(to w: inout CanonicalJSONWriter) {
        w.beginObject()
        w.member("contraindications", contraindications)
        w.member("diagnosis", diagnosis)
        w.member("performanceStatus", performanceStatus)
        w.member("priorSystemicLines", priorSystemicLines)
        w.member("progressed", progressed)
        w.member("stage", stage)
        w.member("treatments", treatments)
        w.endObject()
    }
}

extension SummaryV1.Diagnosis: CanonicalJSONWritable {
    public func write(to w: inout CanonicalJSONWriter) {
        w.beginObject()
        w.member("cancer", cancer)
        w.member("diagnosedAt", diagnosedAt)
        w.member("histology", histology)
        w.member("histologyConfirmed", histologyConfirmed)
        w.endObject()
    }
}

extension SummaryV1.Stage: CanonicalJSONWritable {
    public func write(to w: inout CanonicalJSONWriter) {
        w.beginObject()
        w.member("edition", edition)
        w.member("from", from)
        w.member("group", group)
        w.endObject()
    }
}

extension SummaryV1.PerformanceStatus: CanonicalJSONWritable {
    public func write(to w: inout CanonicalJSONWriter) {
        w.beginObject()
        w.member("ecog", ecog)
        w.member("scale", scale)
        w.endObject()
    }
}

extension SummaryV1.Line: CanonicalJSONWritable {
    public func write(to w: inout CanonicalJSONWriter) {
        w.beginObject()
        w.member("kind", kind)
        w.member("progressionAt", progressionAt)
        w.member("setting", setting)
        w.member("startedAt", startedAt)
        w.member("status", status)
        w.member("what", what)
        w.endObject()
    }
}

extension SummaryV1.Contraindications: CanonicalJSONWritable {
    public func write(to w: inout CanonicalJSONWriter) {
        w.beginObject()
        w.key("absent")
        w.strings(absent)
        w.key("present")
        w.strings(present)
        w.key("unknown")
        w.strings(unknown)
        w.endObject()
    }
}
