import Foundation
import PathwayAPI
import PathwayClient
import PathwayTestSupport
import Testing

/// The tumor-board report through the real daemon, checked in a real headless Chromium (Debian's,
/// installed by .ci/run): it loads without console errors or refused loads, nothing is wider than
/// A4 when printed, and every printed page is A4 portrait. The PDFs and screenshots are kept in
/// `.build/test-artifacts/report/`.
@Suite("tumor-board report in a real browser", .serialized)
struct ReportTests {
    static let artifacts = repositoryRoot.appendingPathComponent(".build/test-artifacts/report")

    @Test("the report of every example case opens in Chromium without errors and prints on A4; each is a view record")
    func examplesInChromium() async throws {
        let daemon = try DaemonHarness()
        try await daemon.start()
        defer { daemon.stop() }
        try? FileManager.default.removeItem(at: Self.artifacts)
        try FileManager.default.createDirectory(at: Self.artifacts, withIntermediateDirectories: true)
        var pages: [String] = []
        let examples = try readExamples()
        func events(of patient: String) -> [JSONValue] {
            examples.first { $0.events.first?.at("patientId") == .string(patient) }?.events ?? []
        }
        for (index, (name, events)) in examples.enumerated() {
            let posted = try await daemon.postNDJSON(events)
            #expect(posted.status == 200, "\(name): \(posted.text)")
            guard case .string(let patient)? = events.first?.at("patientId") else { continue }
            // Through pathwayctl, as a user would write it to a file.
            let path = Self.artifacts.appendingPathComponent("EX-\(index + 1).html").path
            let cli = try runBinary(
                "pathwayctl", ["report", patient, "--format", "html", "-o", path, "--socket", daemon.socket])
            #expect(cli.status == 0, "\(name): \(cli.errors)")
            let html = try String(contentsOfFile: path, encoding: .utf8)
            #expect(html.hasPrefix("<!DOCTYPE html>") && html.contains("patient \(patient)"), "\(name)")
            #expect(
                !html.contains("<script") && !html.contains("src=\"http"),
                "\(name): the page must not fetch or run anything")
            pages.append(path)
            // Markdown through the route, with its media type.
            let markdown = try await daemon.get("/v1/patients/\(patient)/report?format=markdown")
            #expect(markdown.status == 200)
            #expect(markdown.header("content-type")?.hasPrefix("text/markdown") == true)
            #expect(markdown.text.hasPrefix("# Tumor board — patient \(patient)"), "\(markdown.text.prefix(80))")
        }
        #expect(pages.count == 6)
        // Each report is audited as a view holding the evaluation it shows.
        let views = try daemon.sql(
            "SELECT count(*) FROM audit WHERE action = 'view' AND patient_id LIKE 'EX-%'")
        let reports = try daemon.sql(
            "SELECT count(*) FROM audit WHERE action = 'view' AND patient_id LIKE 'EX-%' AND input LIKE '%evaluatedAt%'"
        )
        #expect(views == ["12"] && reports == ["12"], "\(views) \(reports)")
        let wrong = try await daemon.get("/v1/patients/EX-1/report?format=pdf")
        #expect(wrong.status == 400 && wrong.text.contains("format"))
        let unknown = try await daemon.get("/v1/patients/NOBODY/report")
        #expect(unknown.status == 404)

        let check = try run(
            repositoryRoot.appendingPathComponent("scripts/check-report-browser").path, [Self.artifacts.path] + pages)
        #expect(check.status == 0, "\(check.output)\n\(check.errors)")
        let results = check.output.split(separator: "\n").compactMap {
            try? JSONDecoder().decode(JSONValue.self, from: Data($0.utf8))
        }
        #expect(results.count == pages.count)
        for result in results {
            #expect(result.at("ok") == .bool(true), "\(result)")
            guard case .number(let count)? = result.at("pdfPages"), case .string(let png)? = result.at("screenshot")
            else {
                Issue.record("no page count or screenshot: \(result)")
                continue
            }
            #expect(count >= 1)
            let size = (try? FileManager.default.attributesOfItem(atPath: png)[.size] as? Int) ?? 0
            #expect(size > 10_000, "\(png): \(size) bytes")
        }
        print("report artefacts: \(Self.artifacts.path)")
    }

    @Test("the browser check fails a page that fetches from outside, logs an error or is wider than A4")
    func checkerCatchesProblems() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pw-bad-report-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let pages = [
            ("external", "<img src=\"https://example.org/x.png\">"),
            ("console", "<script>console.error('broken')</script>"),
            ("wide", "<div style=\"width: 300mm\">too wide</div>"),
        ]
        var paths: [String] = []
        for (name, body) in pages {
            let path = directory.appendingPathComponent("\(name).html").path
            let page = """
                <!DOCTYPE html><html><head><meta charset="utf-8">
                <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
                <style>@page { size: A4 portrait; margin: 12mm; }</style></head><body>\(body)</body></html>
                """
            try page.write(toFile: path, atomically: true, encoding: .utf8)
            paths.append(path)
        }
        let check = try run(
            repositoryRoot.appendingPathComponent("scripts/check-report-browser").path, [directory.path] + paths)
        #expect(check.status == 1)
        let results = check.output.split(separator: "\n").compactMap {
            try? JSONDecoder().decode(JSONValue.self, from: Data($0.utf8))
        }
        #expect(results.count == 3, "\(check.output)\n\(check.errors)")
        for result in results {
            #expect(result.at("ok") == .bool(false), "a bad page passed: \(result)")
        }
    }
}
