using System.Text.Json;

namespace RuntimeSentinel.Core.Alerts;

/// <summary>
/// Serialises an incident emission as an OCSF Detection Finding (class 2004, OCSF 1.9.0-dev; docs/alerts.md has the
/// field mapping). An incident's first emission is activity Create, its updates Update, its resolution Close, all
/// with the incident id as <c>finding_info.uid</c>, so a SIEM folds them into one finding. Everything taken from events
/// (paths, arguments, names an attacker chose) is written as JSON strings by <see cref="Utf8JsonWriter"/>, which
/// escapes them; lists are bounded (<see cref="SiemFields"/>).
/// </summary>
internal static class OcsfDetectionFindingWriter
{
    /// <summary>The schema version the documents follow (its <c>version.json</c>); the validator test checks it against the source.</summary>
    public const string OcsfVersion = "1.9.0-dev";

    public const int CategoryUid = 2;
    public const int ClassUid = 2004;
    public const string ClassName = "Detection Finding";

    /// <summary>Profiles whose attributes the documents use (the top-level <c>container</c>).</summary>
    public static readonly string[] Profiles = ["container"];

    public static byte[] ToUtf8(Incident incident, string? runbookTemplate)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(8192);
        using (var w = new Utf8JsonWriter(buffer))
        {
            Write(w, incident, runbookTemplate);
        }

        return buffer.WrittenSpan.ToArray();
    }

    public static void Write(Utf8JsonWriter w, Incident i, string? runbookTemplate)
    {
        var p = i.Primary;
        var (activityId, activity) = i.Status switch
        {
            IncidentStatus.Firing => (1, "Create"),
            IncidentStatus.Updated => (2, "Update"),
            _ => (3, "Close"),
        };
        var evidence = SiemFields.Evidence(i);

        w.WriteStartObject();
        w.WriteNumber("activity_id", activityId);
        w.WriteString("activity_name", activity);
        w.WriteNumber("category_uid", CategoryUid);
        w.WriteString("category_name", "Findings");
        w.WriteNumber("class_uid", ClassUid);
        w.WriteString("class_name", ClassName);
        w.WriteNumber("type_uid", (ClassUid * 100) + activityId);
        w.WriteString("type_name", $"{ClassName}: {activity}");
        w.WriteNumber("severity_id", SiemFields.SeverityId(i.Severity));
        w.WriteString("severity", SiemFields.SeverityCaption(i.Severity));

        // A finding's time is its creation: the incident's first alert. Its span of alerts is start_time..end_time.
        w.WriteNumber("time", SiemFields.EpochMs(i.FirstSeen));
        w.WriteNumber("start_time", SiemFields.EpochMs(i.FirstSeen));
        w.WriteNumber("end_time", SiemFields.EpochMs(i.LastSeen));
        w.WriteNumber("timezone_offset", 0); // every time is UTC
        w.WriteNumber("count", i.Count);
        w.WriteString("message", SiemFields.Message(i));

        // Nobody has triaged it yet: New while it fires and grows. A closed one is not "Resolved" (that means reviewed
        // and remediated): its window ended, which Other with a status of our own says.
        if (i.Status == IncidentStatus.Resolved)
        {
            w.WriteNumber("status_id", 99);
            w.WriteString("status", "Closed");
            w.WriteString("status_detail", "No new alerts for the incident window (Alerting:IncidentWindow); later repeats open a new finding.");
        }
        else
        {
            w.WriteNumber("status_id", 1);
            w.WriteString("status", "New");
        }

        w.WriteBoolean("is_alert", i.Status != IncidentStatus.Resolved);
        if (SiemFields.ConfidenceScore(p) is { } confidence)
        {
            var (cid, caption) = SiemFields.ConfidenceLevel(confidence);
            w.WriteNumber("confidence_score", confidence);
            w.WriteNumber("confidence_id", cid);
            w.WriteString("confidence", caption);
        }

        WriteMetadata(w, i);
        WriteFindingInfo(w, i, evidence);
        OcsfAnalysisWriter.WriteAnomalyAnalyses(w, i);
        var observables = new List<OcsfObservable>();
        OcsfEvidenceWriter.WriteEvidences(w, evidence, observables);
        OcsfAnalysisWriter.WriteResources(w, i, observables);
        if (OcsfEvidenceWriter.HasContainer(p.Identity))
        {
            // The container profile's class-level container: the workload's container where the primary finding happened.
            w.WritePropertyName("container");
            OcsfEvidenceWriter.WriteContainer(w, p.Identity, i.Workload.Container);
        }

        if (p.Node is { } node)
        {
            w.WriteStartObject("device");
            w.WriteString("hostname", node);
            w.WriteString("name", node);
            w.WriteNumber("type_id", 1);
            w.WriteString("type", "Server");
            w.WriteEndObject();
            observables.Add(new("device.hostname", 1, "Hostname", node));
        }

        var runbook = IncidentJsonWriter.RunbookUrl(runbookTemplate, i);
        if (runbook.Length > 0)
        {
            w.WriteStartObject("remediation");
            w.WriteString("desc", $"Follow the runbook for {i.Category}.");
            w.WriteStartArray("references");
            w.WriteStringValue(runbook);
            w.WriteEndArray();
            w.WriteEndObject();
        }

        OcsfEvidenceWriter.WriteObservables(w, observables);
        WriteUnmapped(w, i);
        w.WriteEndObject();
    }

    private static void WriteMetadata(Utf8JsonWriter w, Incident i)
    {
        w.WriteStartObject("metadata");
        w.WriteString("version", OcsfVersion);
        w.WriteStartArray("profiles");
        foreach (var profile in Profiles)
        {
            w.WriteStringValue(profile);
        }

        w.WriteEndArray();
        w.WriteStartObject("product");
        w.WriteString("name", SiemFields.ProductName);
        w.WriteString("vendor_name", SiemFields.VendorName);
        w.WriteString("version", SiemFields.ProductVersion);
        w.WriteEndObject();

        // One record per emission: receivers de-duplicate on it (delivery is at-least-once).
        w.WriteString("uid", $"{i.Id}/{i.Version}");
        w.WriteNumber("sequence", i.Version);
        w.WriteString("correlation_uid", i.Fingerprint);
        w.WriteString("event_code", i.Category);
        w.WriteString("log_name", "incidents");
        w.WriteStartArray("labels");
        w.WriteStringValue(i.Kind);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteFindingInfo(Utf8JsonWriter w, Incident i, List<(Alert Alert, Events.RuntimeEvent Event)> evidence)
    {
        var p = i.Primary;
        w.WriteStartObject("finding_info");
        w.WriteString("uid", i.Id);
        w.WriteString("title", p.Summary);
        w.WriteString("desc", string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{SiemFields.Message(i)}. Detector {p.Detector} scored {Math.Round(p.Score, 4)} against its calibrated threshold {Math.Round(p.Threshold, 4)}."));
        w.WriteNumber("created_time", SiemFields.EpochMs(i.FirstSeen));
        w.WriteNumber("first_seen_time", SiemFields.EpochMs(i.FirstSeen));
        w.WriteNumber("last_seen_time", SiemFields.EpochMs(i.LastSeen));
        if (i.Status != IncidentStatus.Firing)
        {
            w.WriteNumber("modified_time", SiemFields.EpochMs(i.LastSeen));
        }

        w.WriteNumber("related_events_count", i.Count);
        w.WriteStartArray("types");
        foreach (var c in i.Categories)
        {
            w.WriteStringValue(c);
        }

        w.WriteEndArray();
        var sources = SiemFields.Sources(evidence);
        if (sources.Count > 0)
        {
            w.WriteStartArray("data_sources");
            foreach (var s in sources)
            {
                w.WriteStringValue(s);
            }

            w.WriteEndArray();
        }

        var (typeId, type, algorithm) = SiemFields.Analytic(p);
        w.WriteStartObject("analytic");
        w.WriteString("uid", p.Detector);
        w.WriteString("name", p.Detector);
        w.WriteNumber("type_id", typeId);
        w.WriteString("type", type);
        w.WriteString("category", p.Category);
        if (AlertCategories.Find(p.Category) is { } entry)
        {
            w.WriteString("desc", entry.Description);
        }

        if (algorithm is not null)
        {
            w.WriteString("algorithm", algorithm);
        }

        if (p.ModelVersion is not null)
        {
            w.WriteString("version", p.ModelVersion);
        }

        w.WriteEndObject();
        var attacks = AttackReferences.Of(i);
        if (attacks.Count > 0)
        {
            w.WriteStartArray("attacks");
            foreach (var a in attacks)
            {
                w.WriteStartObject();
                w.WriteStartObject("tactic");
                w.WriteString("uid", a.TacticId);
                w.WriteString("name", a.TacticName);
                w.WriteString("src_url", a.TacticUrl);
                w.WriteEndObject();
                w.WriteStartObject("technique");
                w.WriteString("uid", a.TechniqueId);
                w.WriteString("name", a.TechniqueName);
                w.WriteString("src_url", a.TechniqueUrl);
                w.WriteEndObject();
                if (a.SubTechniqueId is not null)
                {
                    w.WriteStartObject("sub_technique");
                    w.WriteString("uid", a.SubTechniqueId);
                    w.WriteString("name", a.SubTechniqueName);
                    w.WriteString("src_url", a.SubTechniqueUrl);
                    w.WriteEndObject();
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        w.WriteEndObject();
    }

    /// <summary>
    /// What OCSF has no attribute for — the scores behind the finding, the workload key, the baseline's phase — under
    /// <c>unmapped.runtime_sentinel</c>, named as in <c>sentinel.alert/v2</c>.
    /// </summary>
    private static void WriteUnmapped(Utf8JsonWriter w, Incident i)
    {
        var p = i.Primary;
        w.WriteStartObject("unmapped");
        w.WriteStartObject("runtime_sentinel");
        w.WriteString("schema", Incident.SchemaId);
        w.WriteString("kind", i.Kind);
        w.WriteNumber("version", i.Version);
        w.WriteString("fingerprint", i.Fingerprint);
        w.WriteString("workload_key", i.Workload.Value);
        w.WriteString("detector", p.Detector);
        w.WriteNumber("score", Math.Round(p.Score, 4));
        w.WriteNumber("threshold", Math.Round(p.Threshold, 4));
        AlertJsonWriter.WriteModel(w, p);
        w.WriteStartObject("baseline");
        w.WriteString("phase", p.Baseline.Phase.ToWire());
        w.WriteNumber("age_seconds", Math.Round(p.Baseline.Age.TotalSeconds, 1));
        w.WriteNumber("events_learned", p.Baseline.EventsLearned);
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndObject();
    }
}

/// <summary>An OCSF observable: where in the document (<c>evidences[0].process.name</c>), its type, its value.</summary>
internal readonly record struct OcsfObservable(string Name, int TypeId, string Type, string Value);
