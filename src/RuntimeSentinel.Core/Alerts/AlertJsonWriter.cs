using System.Text.Json;
using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Core.Alerts;

/// <summary>Serialises alerts to the documented JSON shape (docs/alerts.md).</summary>
internal static class AlertJsonWriter
{
    public static byte[] ToUtf8(Alert alert)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(2048);
        using (var w = new Utf8JsonWriter(buffer))
        {
            Write(w, alert);
        }

        return buffer.WrittenSpan.ToArray();
    }

    public static void Write(Utf8JsonWriter w, Alert a)
    {
        w.WriteStartObject();
        w.WriteString("schema", Alert.SchemaId);
        w.WriteString("id", a.Id);
        w.WriteString("fingerprint", a.Fingerprint);
        w.WriteString("time", a.Time.UtcDateTime);
        w.WriteStartObject("workload");
        WriteWorkloadKey(w, a.Workload);
        Opt(w, "pod", a.Identity.Pod);
        Opt(w, "container_id", a.Identity.ContainerId);
        Opt(w, "image", a.Identity.Image);
        Opt(w, "image_digest", a.Identity.ImageDigest);
        w.WriteEndObject();
        Opt(w, "node", a.Node);
        w.WriteString("detector", a.Detector);
        w.WriteString("category", a.Category);
        w.WriteString("severity", a.Severity.ToWire());
        w.WriteNumber("score", Math.Round(a.Score, 4));
        w.WriteNumber("threshold", Math.Round(a.Threshold, 4));
        w.WriteString("summary", a.Summary);
        w.WriteStartObject("explanation");
        w.WriteString("feature", a.Explanation.Feature);
        w.WriteString("observed", a.Explanation.Observed);
        w.WriteNumber("learned_count", a.Explanation.LearnedCount);
        w.WriteNumber("learned_total", a.Explanation.LearnedTotal);
        w.WriteString("reason", a.Explanation.Reason);
        if (a.Explanation.ItemA is not null)
        {
            // The exact baseline item, for feedback verdicts ("this is fine: learn it").
            w.WriteStartObject("item");
            w.WriteString("a", a.Explanation.ItemA);
            if (a.Explanation.ItemB is not null)
            {
                w.WriteString("b", a.Explanation.ItemB);
            }

            if (a.Explanation.ItemN >= 0)
            {
                w.WriteNumber("n", a.Explanation.ItemN);
            }

            w.WriteEndObject();
        }

        w.WriteEndObject();
        WriteModel(w, a);
        WriteMitre(w, a.Mitre);
        w.WriteStartObject("baseline");
        w.WriteString("phase", a.Baseline.Phase.ToWire());
        w.WriteNumber("age_seconds", Math.Round(a.Baseline.Age.TotalSeconds, 1));
        w.WriteNumber("events_learned", a.Baseline.EventsLearned);
        if (a.Baseline.ActiveSince is { } since)
        {
            w.WriteString("active_since", since.UtcDateTime);
        }

        w.WriteEndObject();
        w.WriteStartArray("evidence");
        foreach (var e in a.Evidence)
        {
            EventJsonWriter.Write(w, e);
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>The workload key and its parts (the start of every "workload" object).</summary>
    internal static void WriteWorkloadKey(Utf8JsonWriter w, Workloads.WorkloadKey key)
    {
        w.WriteString("key", key.Value);
        w.WriteString("cluster", key.Cluster);
        w.WriteString("namespace", key.Namespace);
        w.WriteString("owner_kind", key.OwnerKind);
        w.WriteString("owner_name", key.OwnerName);
        w.WriteString("container", key.Container);
    }

    /// <summary>Model alerts only: the detectors that fired (score vs calibrated threshold) and the top features.</summary>
    internal static void WriteModel(Utf8JsonWriter w, Alert a)
    {
        if (a.Detectors.Count == 0)
        {
            return;
        }

        w.WriteStartObject("model");
        if (a.ModelVersion is not null)
        {
            w.WriteString("version", a.ModelVersion);
        }

        if (a.CombinedScore is { } combined)
        {
            w.WriteNumber("combined_score", Math.Round(combined, 4));
        }

        w.WriteStartArray("detectors");
        foreach (var d in a.Detectors)
        {
            w.WriteStartObject();
            w.WriteString("detector", d.Detector);
            w.WriteNumber("score", Math.Round(d.Score, 4));
            w.WriteNumber("threshold", Math.Round(d.Threshold, 4));
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartArray("top_features");
        foreach (var f in a.TopFeatures)
        {
            w.WriteStartObject();
            w.WriteString("feature", f.Feature);
            w.WriteNumber("observed", Math.Round(f.Observed, 4));
            w.WriteNumber("baseline", Math.Round(f.Baseline, 4));
            w.WriteNumber("share", Math.Round(f.Share, 4));
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    internal static void WriteMitre(Utf8JsonWriter w, MitreTechnique? mitre)
    {
        if (mitre is { } m)
        {
            w.WriteStartObject("mitre");
            w.WriteString("tactic", m.Tactic);
            w.WriteString("technique", m.TechniqueId);
            w.WriteString("name", m.Name);
            w.WriteEndObject();
        }
    }

    private static void Opt(Utf8JsonWriter w, string name, string? value)
    {
        if (value is not null)
        {
            w.WriteString(name, value);
        }
    }
}
