using System.Text.Json;

namespace RuntimeSentinel.Core.Alerts;

/// <summary>
/// <c>runtime_sentinel.*</c> of an ECS document: what ECS has no field for — the incident (id, emission, status,
/// count, fingerprint, categories), the workload key and its pods and nodes, the detector's score against its
/// calibrated threshold, the explanation (observed vs learned), the baseline's phase, the model block and a line per
/// finding. Names follow <c>sentinel.alert/v2</c>, so a query written for one reads the other.
/// </summary>
internal static class EcsExplanationWriter
{
    public static void Write(Utf8JsonWriter w, Incident i)
    {
        var p = i.Primary;
        w.WriteStartObject("runtime_sentinel");
        w.WriteStartObject("incident");
        w.WriteString("id", i.Id);
        w.WriteNumber("version", i.Version);
        w.WriteString("status", i.Status switch { IncidentStatus.Firing => "firing", IncidentStatus.Updated => "updated", _ => "resolved" });
        w.WriteString("kind", i.Kind);
        w.WriteNumber("count", i.Count);
        w.WriteString("fingerprint", i.Fingerprint);
        w.WriteString("severity", i.Severity.ToWire());
        EcsAlertWriter.Strings(w, "categories", i.Categories);
        if (i.Note is not null)
        {
            w.WriteString("note", i.Note);
        }

        w.WriteEndObject();

        w.WriteStartObject("workload");
        AlertJsonWriter.WriteWorkloadKey(w, i.Workload);
        EcsAlertWriter.Strings(w, "pods", i.Pods.Take(SiemFields.MaxPods));
        EcsAlertWriter.Strings(w, "nodes", i.Nodes.Take(SiemFields.MaxNodes));
        w.WriteEndObject();

        w.WriteString("detector", p.Detector);
        w.WriteNumber("score", Math.Round(p.Score, 4));
        w.WriteNumber("threshold", Math.Round(p.Threshold, 4));
        if (SiemFields.ConfidenceScore(p) is { } confidence)
        {
            w.WriteNumber("confidence", confidence);
        }

        IncidentJsonWriter.WriteExplanation(w, p.Explanation);
        w.WriteStartObject("baseline");
        w.WriteString("phase", p.Baseline.Phase.ToWire());
        w.WriteNumber("age_seconds", Math.Round(p.Baseline.Age.TotalSeconds, 1));
        w.WriteNumber("events_learned", p.Baseline.EventsLearned);
        if (p.Baseline.ActiveSince is { } since)
        {
            w.WriteString("active_since", since.UtcDateTime);
        }

        w.WriteEndObject();
        AlertJsonWriter.WriteModel(w, p);

        // Each distinct finding in one line: what, where, how far past its threshold.
        w.WriteStartArray("alerts");
        foreach (var a in i.Samples)
        {
            w.WriteStartObject();
            w.WriteString("id", a.Id);
            w.WriteString("time", a.Time.UtcDateTime);
            w.WriteString("category", a.Category);
            w.WriteString("detector", a.Detector);
            w.WriteString("severity", a.Severity.ToWire());
            w.WriteString("summary", a.Summary);
            w.WriteString("feature", a.Explanation.Feature);
            w.WriteString("observed", a.Explanation.Observed);
            w.WriteNumber("score", Math.Round(a.Score, 4));
            w.WriteNumber("threshold", Math.Round(a.Threshold, 4));
            w.WriteString("fingerprint", a.Fingerprint);
            if (a.Identity.Pod is not null)
            {
                w.WriteString("pod", a.Identity.Pod);
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }
}
