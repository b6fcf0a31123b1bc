using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection;
using RuntimeSentinel.Lab.Evaluation;

namespace RuntimeSentinel.Lab.Export;

/// <summary>
/// Behaviour windows out of recorded events, exactly as the window models see them: the events go through
/// <see cref="OfflineModels"/> (what <c>sentinel train</c> runs), and the windows are the ones its runtimes collected
/// for training, so a row is a vector a model trained on these events would have been fitted on. The window still open
/// when the events end is not in it (no model sees it either).
/// </summary>
public static class FeatureWindows
{
    /// <summary>The phase the windows were collected in: recorded events are all learning data.</summary>
    public const string LearningPhase = "learning";

    /// <summary>
    /// Every closed window of every workload, ordered by workload key and then time. A window's label: 1 when one of its
    /// events has <paramref name="labelKey"/> starting with <paramref name="positivePrefix"/>, 0 when its events carry
    /// that label otherwise, null when none does; its scenario is the first positive value, else the first value.
    /// </summary>
    /// <param name="labels">
    /// Ground truth from outside the events (a corpus's labels.json): given a window's workload and span, its scenario and
    /// label. When given, it decides every window's columns instead of the events' own labels.
    /// </param>
    public static List<FeatureRow> Collect(DetectionOptions options, IReadOnlyList<RuntimeEvent> events, string labelKey, string positivePrefix, Action<int>? progress = null, Func<WorkloadKey, DateTimeOffset, DateTimeOffset, (string? Scenario, int Label)>? labels = null)
    {
        var offline = new OfflineModels(options);
        var byWorkload = new Dictionary<WorkloadKey, List<int>>();
        for (var i = 0; i < events.Count; i++)
        {
            var key = offline.Learn(events[i]);
            if (!byWorkload.TryGetValue(key, out var list))
            {
                byWorkload[key] = list = [];
            }

            list.Add(i);
            if (i % 5000 == 0)
            {
                progress?.Invoke(i);
            }
        }

        var rows = new List<FeatureRow>();
        var labelled = new WindowLabels(labelKey, positivePrefix);
        foreach (var (key, window, windows) in offline.CollectedWindows().OrderBy(w => w.Key.Value, StringComparer.Ordinal))
        {
            var own = byWorkload[key];
            string? digest = null;
            var next = 0; // events are in time order: each window's events follow the previous window's
            foreach (var (vector, end) in windows)
            {
                var start = end - window;
                while (next < own.Count && events[own[next]].Timestamp < start)
                {
                    digest = events[own[next]].Workload.ImageDigest ?? digest;
                    next++;
                }

                labelled.Clear();
                for (; next < own.Count && events[own[next]].Timestamp < end; next++)
                {
                    var e = events[own[next]];
                    digest = e.Workload.ImageDigest ?? digest;
                    labelled.Add(e);
                }

                var (scenario, label) = labelled.For(key, start, end, labels);
                rows.Add(new FeatureRow(key, digest, start, end, LearningPhase, vector, scenario, label));
            }
        }

        return rows;
    }
}
