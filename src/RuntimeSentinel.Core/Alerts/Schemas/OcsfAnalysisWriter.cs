using System.Globalization;
using System.Text.Json;

namespace RuntimeSentinel.Core.Alerts;

/// <summary>
/// The explanation side of a Detection Finding: <c>anomaly_analyses</c> (per finding of the incident, what the
/// baseline learned beside what was observed, feature by feature) and the affected <c>resources</c> (the workload, its
/// pods, its nodes).
/// </summary>
internal static class OcsfAnalysisWriter
{
    /// <summary>
    /// One analysis per distinct finding (at most 20): its anomalies and baselines pair up by feature. A novel item
    /// ("exec=/bin/sh") is observed once against a baseline that saw it <c>learned_count</c> times; a model feature
    /// ("bytes_out") has an observed value against the value typical of the learned windows. The baseline's time span
    /// is the learning period (the baseline's age at the alert, up to when it turned active).
    /// </summary>
    public static void WriteAnomalyAnalyses(Utf8JsonWriter w, Incident i)
    {
        w.WriteStartArray("anomaly_analyses");
        foreach (var a in i.Samples.Where(s => s.Id != i.Primary.Id).Prepend(i.Primary))
        {
            var features = Features(a);
            w.WriteStartObject();
            w.WriteStartArray("analysis_targets");
            w.WriteStartObject();
            w.WriteString("name", a.Workload.Value);
            w.WriteString("type", $"Kubernetes {a.Workload.OwnerKind} container");
            w.WriteEndObject();
            w.WriteEndArray();

            w.WriteStartArray("anomalies");
            foreach (var f in features)
            {
                w.WriteStartObject();
                w.WriteString("observation_parameter", f.Parameter);
                w.WriteString("observation_type", f.Item is null ? $"{a.Detector} feature" : "item never or rarely seen");
                w.WriteString("observed_pattern", a.Explanation.Reason);
                w.WriteStartArray("observations");
                w.WriteStartObject();
                w.WriteString("value", f.Observed);
                w.WriteStartObject("timespan");
                w.WriteNumber("start_time", SiemFields.EpochMs(a.Time));
                w.WriteNumber("end_time", SiemFields.EpochMs(a.Time));
                w.WriteNumber("type_id", 9);
                w.WriteString("type", "Time Interval");
                w.WriteEndObject();
                w.WriteEndObject();
                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartArray("baselines");
            foreach (var f in features)
            {
                w.WriteStartObject();
                w.WriteString("observation_parameter", f.Parameter);
                w.WriteString("observation_type", $"learned baseline ({a.Baseline.Phase.ToWire()}, {a.Baseline.EventsLearned} events)");
                w.WriteString("observed_pattern", f.BaselinePattern);
                w.WriteStartArray("observations");
                w.WriteStartObject();
                w.WriteString("value", f.Baseline);
                if (f.BaselineCount is { } count)
                {
                    w.WriteNumber("count", count);
                }

                w.WriteStartObject("timespan");
                var end = a.Baseline.ActiveSince is { } since && since <= a.Time ? since : a.Time;
                w.WriteNumber("start_time", SiemFields.EpochMs(a.Time - a.Baseline.Age));
                w.WriteNumber("end_time", SiemFields.EpochMs(end));
                w.WriteNumber("type_id", 9);
                w.WriteString("type", "Time Interval");
                w.WriteEndObject();
                w.WriteEndObject();
                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    private sealed record Feature(string Parameter, string? Item, string Observed, string Baseline, long? BaselineCount, string BaselinePattern);

    /// <summary>The top features (model block), or the explanation alone for an alert without them.</summary>
    private static List<Feature> Features(Alert a)
    {
        var result = new List<Feature>();
        foreach (var f in a.TopFeatures)
        {
            var eq = f.Feature.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                // A novel item: "observed" counts how often the baseline saw it, "baseline" how many it learned.
                var item = f.Feature[(eq + 1)..];
                var seen = (long)f.Observed;
                result.Add(new(f.Feature[..eq], item, item, item, seen, $"seen {seen} times among {Number(f.Baseline)} learned"));
            }
            else
            {
                result.Add(new(f.Feature, null, Number(f.Observed), Number(f.Baseline), null, $"typical value of the learned windows; {Math.Round(f.Share * 100, 1).ToString(CultureInfo.InvariantCulture)} % of the anomaly"));
            }
        }

        if (result.Count == 0)
        {
            var e = a.Explanation;
            result.Add(new(e.Feature, e.Observed, e.Observed, e.Observed, e.LearnedCount, $"seen {e.LearnedCount} times among {e.LearnedTotal} learned"));
        }

        return result;
    }

    private static string Number(double v) => Math.Round(v, 4).ToString(CultureInfo.InvariantCulture);

    /// <summary>The workload (the finding's target), then each pod and node its alerts came from (bounded).</summary>
    public static void WriteResources(Utf8JsonWriter w, Incident i, List<OcsfObservable> observables)
    {
        var k = i.Workload;
        w.WriteStartArray("resources");
        w.WriteStartObject();
        w.WriteString("uid", k.Value);
        w.WriteString("name", k.OwnerName);
        w.WriteString("type", $"Kubernetes {k.OwnerKind}");
        w.WriteString("namespace", k.Namespace);
        w.WriteNumber("role_id", 1);
        w.WriteString("role", "Target");
        var labels = i.Primary.Identity.Labels;
        if (labels.Count > 0)
        {
            w.WriteStartArray("labels");
            foreach (var kv in labels.Items)
            {
                w.WriteStringValue($"{kv.Key}={kv.Value}");
            }

            w.WriteEndArray();
        }

        w.WriteStartObject("data");
        w.WriteString("cluster", k.Cluster);
        w.WriteString("container", k.Container);
        w.WriteEndObject();
        w.WriteEndObject();
        observables.Add(new("resources[0].uid", 10, "Resource UID", k.Value));

        foreach (var pod in i.Pods.Take(SiemFields.MaxPods))
        {
            w.WriteStartObject();
            w.WriteString("name", pod);
            w.WriteString("type", "Kubernetes Pod");
            w.WriteString("namespace", k.Namespace);
            w.WriteNumber("role_id", 3);
            w.WriteString("role", "Affected");
            w.WriteEndObject();
        }

        foreach (var node in i.Nodes.Take(SiemFields.MaxNodes))
        {
            w.WriteStartObject();
            w.WriteString("name", node);
            w.WriteString("hostname", node);
            w.WriteString("type", "Kubernetes Node");
            w.WriteNumber("role_id", 4);
            w.WriteString("role", "Related");
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }
}
