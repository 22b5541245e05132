import Mustache

/// The report's templates. Values are written with `{{ }}` only, which escapes them for the page
/// (HTML, or Markdown through `MarkdownContentType`); no template uses the unescaped `{{{ }}}`.
enum ReportTemplates {
    static let library: MustacheLibrary = {
        MustacheContentTypes.register(MarkdownContentType(), named: "MARKDOWN")
        var library = MustacheLibrary()
        // The templates are constants of this file: a parse error is a programming error caught by every test.
        try! library.register(html, named: "html")
        try! library.register(markdown, named: "markdown")
        return library
    }()

    static let html = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Tumor board — {{patientId}}</title>
        <style>
        @page { size: A4 portrait; margin: 12mm; }
        * { box-sizing: border-box; }
        body { font: 9pt/1.3 "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #111; margin: 0 auto; max-width: 186mm; }
        h1 { font-size: 15pt; margin: 0 0 2mm; }
        h2 { font-size: 11pt; margin: 5mm 0 1.5mm; border-bottom: 1px solid #999; }
        h3 { font-size: 10pt; margin: 3mm 0 1mm; }
        table { width: 100%; border-collapse: collapse; table-layout: fixed; }
        th, td { text-align: left; vertical-align: top; padding: 0.8mm 1.5mm; border-bottom: 1px solid #ddd; overflow-wrap: anywhere; }
        tr.first td { border-bottom: none; padding-bottom: 0; }
        tr.more td { padding-top: 0.3mm; }
        .caution { font-size: 8pt; }
        th { background: #f0f0f0; }
        .facts th { width: 28%; background: none; }
        .meta { color: #444; font-size: 8.5pt; overflow-wrap: anywhere; }
        .status { font-weight: bold; white-space: nowrap; }
        .recommended { color: #0a5c0a; } .consider { color: #6b4f00; } .needs-data { color: #1f3f8f; } .not-eligible { color: #777; }
        .pass { color: #0a5c0a; } .fail { color: #a00; } .unknown { color: #1f3f8f; }
        .alert { border-left: 3px solid #a00; padding: 1mm 2mm; margin: 1mm 0; background: #fff4f4; }
        .caution { color: #6b4f00; }
        ul { margin: 0.5mm 0; padding-left: 5mm; }
        a { color: #1f3f8f; }
        </style>
        </head>
        <body>
        <h1>Tumor board — patient {{patientId}}</h1>
        <p class="meta">Decision {{decisionId}} · evaluated {{evaluatedAt}} · rules {{revision}} ({{packs}})</p>
        <h2>Patient</h2>
        <table class="facts">
        <tr><th>Diagnosis</th><td>{{diagnosis}}</td></tr>
        <tr><th>Stage and performance status</th><td>{{stage}}</td></tr>
        <tr><th>Treatment so far</th><td>{{treatment}}</td></tr>
        <tr><th>Contraindications</th><td>{{contraindications}}</td></tr>
        <tr><th>Pathway</th><td>{{pathway}} · setting {{setting}}</td></tr>
        </table>
        {{#hasAlerts}}<h2>Alerts</h2>
        {{#alerts}}<div class="alert"><b>{{severity}}</b>: {{text}} <span class="meta">{{cite}}</span></div>
        {{/alerts}}{{/hasAlerts}}
        <h2>Options, ranked</h2>
        {{^hasOffered}}<p>No option can be offered yet.</p>{{/hasOffered}}
        {{#hasOffered}}<table>
        <tr><th style="width:5%">#</th><th style="width:16%">Status</th><th style="width:33%">Option</th><th>Why</th></tr>
        {{#offered}}<tr class="first"><td>{{rank}}</td><td class="status {{status}}">{{status}}</td><td><b>{{label}}</b></td><td>{{why}}</td></tr>
        <tr class="more"><td></td><td colspan="3" class="meta">Evidence: {{#evidence}}{{text}} — {{title}}{{#hasURL}} · <a href="{{url}}">{{shown}}</a>{{/hasURL}}. {{/evidence}}{{#cautions}}<div class="caution">⚠ {{.}}</div>{{/cautions}}</td></tr>
        {{/offered}}</table>{{/hasOffered}}
        {{#hasNeedsData}}<h2>Needs data before it can be decided</h2>
        <table>
        <tr><th style="width:40%">Option</th><th>Missing</th></tr>
        {{#needsData}}<tr><td>{{label}}</td><td>{{missing}}</td></tr>
        {{/needsData}}</table>{{/hasNeedsData}}
        {{#hasMissing}}<h2>Missing data, by what it decides</h2>
        <table>
        <tr><th style="width:40%">Fact</th><th style="width:10%">Decides</th><th>Options and trials</th></tr>
        {{#missing}}<tr><td>{{fact}}</td><td>{{decides}}</td><td class="meta">{{neededBy}}</td></tr>
        {{/missing}}</table>
        <p class="meta">{{moreMissing}}</p>{{/hasMissing}}
        <h2>Clinical trials</h2>
        {{^hasTrials}}<p>No trial for this patient's disease.</p>{{/hasTrials}}
        {{#trials}}<h3>{{name}} — <span class="status">{{status}}</span> ({{recruitment}}; {{met}}) · {{#link.hasURL}}<a href="{{link.url}}">{{link.text}}</a>{{/link.hasURL}}{{^link.hasURL}}{{link.text}}{{/link.hasURL}}</h3>
        <table>
        <tr><th style="width:9%">Result</th><th style="width:15%">Criterion</th><th style="width:38%">Text</th><th>Reason</th></tr>
        {{#criteria}}<tr><td class="{{result}}">{{result}}</td><td>{{kind}} {{id}}</td><td>{{text}}</td><td>{{reason}}</td></tr>
        {{/criteria}}</table>
        <p class="meta">{{omitted}}</p>
        {{/trials}}<p class="meta">{{otherTrials}}</p>
        {{#hasNotEligible}}<h2>Not eligible</h2>
        <table>
        <tr><th style="width:40%">Option</th><th>Why not</th></tr>
        {{#notEligible}}<tr><td>{{label}}</td><td>{{why}}</td></tr>
        {{/notEligible}}</table>{{/hasNotEligible}}
        {{#hasTimeline}}<h2>Timeline</h2>
        <p class="meta">{{timelineNote}}</p>
        <table>
        <tr><th style="width:22%">When</th><th style="width:17%">Event</th><th>What</th></tr>
        {{#timeline}}<tr><td>{{occurredAt}}</td><td>{{type}}</td><td class="meta">{{detail}} ({{eventId}})</td></tr>
        {{/timeline}}</table>{{/hasTimeline}}
        <p class="meta">Decision support, not a prescription: the tumor board decides. Every option above was derived by pathwayd from the recorded facts and the rules revision named at the top; the audit record {{decisionId}} holds this evaluation.</p>
        </body>
        </html>

        """

    static let markdown = """
        {{% CONTENT_TYPE: MARKDOWN}}
        # Tumor board — patient {{patientId}}

        Decision {{decisionId}} · evaluated {{evaluatedAt}} · rules {{revision}} ({{packs}})

        ## Patient

        - **Diagnosis:** {{diagnosis}}
        - **Stage and performance status:** {{stage}}
        - **Treatment so far:** {{treatment}}
        - **Contraindications:** {{contraindications}}
        - **Pathway:** {{pathway}} · setting {{setting}}
        {{#hasAlerts}}

        ## Alerts

        {{#alerts}}
        - **{{severity}}**: {{text}} ({{cite}})
        {{/alerts}}
        {{/hasAlerts}}

        ## Options, ranked

        {{^hasOffered}}
        No option can be offered yet.
        {{/hasOffered}}
        {{#offered}}
        {{rank}}. **{{label}}** — {{status}}: {{why}}
        {{#cautions}}
           - ⚠ {{.}}
        {{/cautions}}
        {{#evidence}}
           - {{text}} — {{title}}{{#hasURL}} · <{{url}}>{{/hasURL}}
        {{/evidence}}
        {{/offered}}
        {{#hasNeedsData}}

        ## Needs data

        {{#needsData}}
        - {{label}}: missing {{missing}}
        {{/needsData}}
        {{/hasNeedsData}}
        {{#hasMissing}}

        ## Missing data, by what it decides

        | Fact | Decides | Options and trials |
        | --- | --- | --- |
        {{#missing}}
        | {{fact}} | {{decides}} | {{neededBy}} |
        {{/missing}}

        {{moreMissing}}
        {{/hasMissing}}

        ## Clinical trials

        {{^hasTrials}}
        No trial for this patient's disease.
        {{/hasTrials}}
        {{#trials}}
        ### {{name}} ({{id}}) — {{status}}, {{recruitment}}, {{met}}

        | Result | Criterion | Text | Reason |
        | --- | --- | --- | --- |
        {{#criteria}}
        | {{result}} | {{kind}} {{id}} | {{text}} | {{reason}} |
        {{/criteria}}

        {{omitted}}

        {{/trials}}
        {{otherTrials}}
        {{#hasNotEligible}}

        ## Not eligible

        {{#notEligible}}
        - {{label}}: {{why}}
        {{/notEligible}}
        {{/hasNotEligible}}
        {{#hasTimeline}}

        ## Timeline

        {{timelineNote}}

        | When | Event | What |
        | --- | --- | --- |
        {{#timeline}}
        | {{occurredAt}} | {{type}} | {{detail}} ({{eventId}}) |
        {{/timeline}}
        {{/hasTimeline}}

        Decision support, not a prescription: the tumor board decides. The audit record {{decisionId}} holds this evaluation.

        """
}
