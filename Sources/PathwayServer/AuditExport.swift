import Foundation
import PathwayAPI
import PathwayCore
import PathwayStore

/// The three export formats of `GET /v1/audit/export`, one record at a time.
enum AuditExport {
    static let csvHeader =
        "seq,decisionId,at,actorUid,actorUser,actorRoles,action,patientId,revision,prevHash,hash,input,output,"
        + "format,version\r\n"

    static func line(_ record: AuditRecord, format: ExportFormat) throws -> String {
        switch format {
        case .csv: try csv(record)
        case .fhirAuditEvent: try CanonicalJSON.encode(auditEvent(record)) + "\n"
        case .jsonl: try CanonicalJSON.encode(record.wire(full: true)) + "\n"
        }
    }

    /// RFC 4180: every field quoted, quotes doubled, CRLF line ends.
    static func csv(_ record: AuditRecord) throws -> String {
        let fields: [String] = [
            String(record.seq), record.decisionId, Instant(millisecondsSinceEpoch: record.at).description,
            String(record.actorUid), record.actorUser, record.actorRoles, record.action, record.patientId ?? "",
            record.revision ?? "", record.prevHash, record.hash, record.input, try record.output,
            record.format.rawValue, record.version ?? "",
        ]
        return fields.map { "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }.joined(separator: ",")
            + "\r\n"
    }

    /// An HL7 FHIR R4 AuditEvent: the peer and its roles as agent; patient, decision and rules
    /// revision as entities; the action, outcome and time. Shaped like
    /// shared/reference/cds-hooks-examples/AuditEvent-pathway-decision.json.
    static func auditEvent(_ record: AuditRecord) throws -> JSONValue {
        let (fhirAction, typeCode, typeDisplay): (String, String, String) =
            switch record.action {
            case "event", "feedback": ("C", "rest", "RESTful Operation")
            case "view": ("R", "110112", "Query")
            case "denied": ("E", "110113", "Security Alert")
            default: ("E", "rest", "RESTful Operation")
            }
        let failed = try record.action == "denied" || record.output.contains("\"status\":\"refused\"")
        var entities: [JSONValue] = []
        if let patientId = record.patientId {
            entities.append([
                "what": ["identifier": ["system": "urn:pathwayd:patient-id", "value": .string(patientId)]],
                "type": [
                    "system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1",
                    "display": "Person",
                ],
                "role": [
                    "system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1", "display": "Patient",
                ],
            ])
        }
        entities.append([
            "what": ["identifier": ["system": "urn:pathwayd:decision-id", "value": .string(record.decisionId)]],
            "type": [
                "system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "2",
                "display": "System Object",
            ],
            "detail": [
                ["type": "seq", "valueString": .string(String(record.seq))],
                ["type": "hash", "valueString": .string(record.hash)],
                ["type": "prevHash", "valueString": .string(record.prevHash)],
            ],
        ])
        if let revision = record.revision {
            entities.append([
                "what": ["identifier": ["system": "urn:pathwayd:rules-revision", "value": .string(revision)]],
                "type": [
                    "system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "2",
                    "display": "System Object",
                ],
                "role": [
                    "system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "13",
                    "display": "Security Resource",
                ],
            ])
        }
        let roles = record.actorRoles.split(separator: ",").map { role -> JSONValue in
            ["coding": [["system": "urn:pathwayd:role", "code": .string(String(role))]]]
        }
        var agent: [String: JSONValue] = [
            "who": [
                "identifier": ["system": "urn:pathwayd:unix-uid", "value": .string(String(record.actorUid))],
                "display": .string(record.actorUser),
            ],
            "requestor": true,
            "network": ["address": .string("unix-socket peer uid=\(record.actorUid)"), "type": "5"],
        ]
        // FHIR JSON allows no empty arrays: a caller without roles (a refusal) has no `role`.
        if !roles.isEmpty { agent["role"] = .array(roles) }
        return [
            "resourceType": "AuditEvent",
            "id": .string(record.decisionId),
            "type": [
                "system": "http://dicom.nema.org/resources/ontology/DCM", "code": .string(typeCode),
                "display": .string(typeDisplay),
            ],
            "subtype": [["system": "urn:pathwayd:audit-action", "code": .string(record.action)]],
            "action": .string(fhirAction),
            "recorded": .string(Instant(millisecondsSinceEpoch: record.at).description),
            "outcome": failed ? "4" : "0",
            "agent": [.object(agent)],
            "source": [
                "observer": ["display": "pathwayd"],
                "type": [
                    [
                        "system": "http://terminology.hl7.org/CodeSystem/security-source-type", "code": "4",
                        "display": "Application Server",
                    ]
                ],
            ],
            "entity": .array(entities),
        ]
    }
}
