using System.Text.Json;
using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Core.Alerts;

/// <summary>Serialises incidents in schema <c>sentinel.alert/v2</c> (docs/alerts.md).</summary>
public static class IncidentJsonWriter
{
    public static byte[] ToUtf8(Incident incident, string? runbookTemplate = null)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(4096);
        using (var w = new Utf8JsonWriter(buffer))
        {
            Write(w, incident, runbookTemplate);
        }

        return buffer.WrittenSpan.ToArray();
    }

    public static string RunbookUrl(string? template, Incident i) =>
        string.IsNullOrEmpty(template) ? "" : template.Replace("{category}", i.Category, StringComparison.Ordinal).Replace("{technique}", i.Primary.Mitre?.TechniqueId ?? "none", StringComparison.Ordinal);

    public static void Write(Utf8JsonWriter w, Incident i, string? runbookTemplate)
    {
        var p = i.Primary;
        w.WriteStartObject();
        w.WriteString("schema", Incident.SchemaId);
        w.WriteString("id", i.Id);
        w.WriteNumber("version", i.Version);
        w.WriteString("fingerprint", i.Fingerprint);
        w.WriteString("kind", i.Kind);
        w.WriteString("status", i.Status switch { IncidentStatus.Firing => "firing", IncidentStatus.Updated => "updated", _ => "resolved" });
        w.WriteNumber("count", i.Count);
        w.WriteString("first_seen", i.FirstSeen.UtcDateTime);
        w.WriteString("last_seen", i.LastSeen.UtcDateTime);
        w.WriteString("severity", i.Severity.ToWire());
        w.WriteString("category", i.Category);
        w.WriteStartArray("categories");
        foreach (var c in i.Categories)
        {
            w.WriteStringValue(c);
        }

        w.WriteEndArray();
        w.WriteString("summary", i.Note is null ? p.Summary : $"{p.Summary} — {i.Note}");
        w.WriteString("detector", p.Detector);
        w.WriteNumber("score", Math.Round(p.Score, 4));
        w.WriteNumber("threshold", Math.Round(p.Threshold, 4));
        AlertJsonWriter.WriteModel(w, p);
        AlertJsonWriter.WriteMitre(w, p.Mitre);

        w.WriteStartObject("workload");
        AlertJsonWriter.WriteWorkloadKey(w, i.Workload);
        Opt(w, "image", p.Identity.Image);
        Opt(w, "image_digest", p.Identity.ImageDigest);
        WriteStrings(w, "pods", i.Pods);
        WriteStrings(w, "nodes", i.Nodes);
        if (p.Identity.Labels.Count > 0)
        {
            w.WriteStartObject("labels");
            foreach (var kv in p.Identity.Labels.Items)
            {
                w.WriteString(kv.Key, kv.Value);
            }

            w.WriteEndObject();
        }

        w.WriteEndObject();

        // Process lineage of the primary finding: the process, then its parent.
        var proc = p.Evidence.Count > 0 ? p.Evidence[0].Process : ProcessInfo.None;
        w.WriteStartArray("lineage");
        if (proc.Exe is not null)
        {
            w.WriteStartObject();
            w.WriteString("exe", proc.Exe);
            if (proc.Pid >= 0)
            {
                w.WriteNumber("pid", proc.Pid);
            }

            Opt(w, "args", proc.Args);
            w.WriteEndObject();
        }

        if (proc.ParentExe is not null)
        {
            w.WriteStartObject();
            w.WriteString("exe", proc.ParentExe);
            if (proc.Ppid >= 0)
            {
                w.WriteNumber("pid", proc.Ppid);
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
        WriteExplanation(w, p.Explanation);
        w.WriteStartObject("baseline");
        w.WriteString("phase", p.Baseline.Phase.ToWire());
        w.WriteNumber("age_seconds", Math.Round(p.Baseline.Age.TotalSeconds, 1));
        w.WriteNumber("events_learned", p.Baseline.EventsLearned);
        w.WriteEndObject();
        var runbook = RunbookUrl(runbookTemplate, i);
        if (runbook.Length > 0)
        {
            w.WriteStartObject("links");
            w.WriteString("runbook", runbook);
            w.WriteEndObject();
        }

        // The distinct findings folded into this incident, each a v1 alert (with its evidence and labels).
        w.WriteStartArray("alerts");
        foreach (var a in i.Samples)
        {
            AlertJsonWriter.Write(w, a);
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>The primary alert's explanation object, as every schema that carries ours writes it.</summary>
    internal static void WriteExplanation(Utf8JsonWriter w, Explanation e)
    {
        w.WriteStartObject("explanation");
        w.WriteString("feature", e.Feature);
        w.WriteString("observed", e.Observed);
        w.WriteNumber("learned_count", e.LearnedCount);
        w.WriteNumber("learned_total", e.LearnedTotal);
        w.WriteString("reason", e.Reason);
        w.WriteEndObject();
    }

    private static void WriteStrings(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values)
        {
            w.WriteStringValue(v);
        }

        w.WriteEndArray();
    }

    private static void Opt(Utf8JsonWriter w, string name, string? value)
    {
        if (value is not null)
        {
            w.WriteString(name, value);
        }
    }
}
