using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection.Baseline;
using RuntimeSentinel.Detection.Models;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Detection.Tests;

/// <summary>Drift metrics: bounded cardinality however many workloads drift, and observed as workloads are evaluated.</summary>
public class DriftMetricsTests
{
    private static (DetectionMetrics Metrics, Prometheus.CollectorRegistry Registry) Metrics()
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        return (new DetectionMetrics(Prometheus.Metrics.WithCustomRegistry(registry)), registry);
    }

    private static WorkloadSnapshot Snapshot(int i, double? psi, bool suggested = false) =>
        new(new WorkloadKey("c", $"ns{i % 7}", "Deployment", $"svc{i}", "app"), BaselinePhase.Active, Some.Time, Some.Time, 1, 1, new Dictionary<Feature, int>())
        {
            Drift = psi is null
                ? DriftSummary.NotKnown("v1", "too few windows", 0.25)
                : new DriftSummary { ModelVersion = "v1", Psi = psi, Threshold = 0.25, RetrainSuggested = suggested },
        };

    private static List<string> TopSeries(Prometheus.CollectorRegistry registry) =>
        Exposition.Export(registry).Split('\n').Where(l => l.StartsWith("sentinel_workload_drift_top{", StringComparison.Ordinal)).ToList();

    [Fact]
    public void Publish_ThousandsOfDriftingWorkloads_OnlyTheTopKHaveSeriesAndLeaversAreRemoved()
    {
        var (metrics, registry) = Metrics();
        var series = new DriftSeries(metrics, new DriftOptions { MetricTopWorkloads = 5 });

        // 3000 workloads: drift rising with the index; every tenth unknown; the 100 most drifting have a retrain suggested.
        var all = Enumerable.Range(0, 3000).Select(i => Snapshot(i, i % 10 == 0 ? null : i / 1000.0, suggested: i >= 2900)).ToList();
        series.Publish(all);

        var top = TopSeries(registry);
        Assert.Equal(5, top.Count);
        foreach (var i in new[] { 2999, 2998, 2997, 2996, 2995 })
        {
            Assert.Contains(top, l => l.Contains($"workload=\"Deployment/svc{i}\"", StringComparison.Ordinal) && l.EndsWith(" " + (i / 1000.0).ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));
        }

        Assert.Equal(90, Exposition.Sum(Exposition.Export(registry), "sentinel_workloads_retrain_suggested")); // 2900..2999 less the unknown tenth

        // The most drifting ones were retrained (their drift is unknown again): the next five take their place, and
        // the old series are gone, not left at their last value.
        series.Publish([.. all.Take(2995), .. Enumerable.Range(2995, 5).Select(i => Snapshot(i, null))]);
        top = TopSeries(registry);
        Assert.Equal(5, top.Count);
        Assert.DoesNotContain(top, l => l.Contains("svc2999", StringComparison.Ordinal));
        Assert.Contains(top, l => l.Contains("workload=\"Deployment/svc2994\"", StringComparison.Ordinal));
        Assert.Contains(top, l => l.Contains("workload=\"Deployment/svc2989\"", StringComparison.Ordinal)); // 2990 is unknown
        Assert.Equal(5, series.Exported);

        // No drift known anywhere: no series at all.
        series.Publish([.. all.Select((_, i) => Snapshot(i, null))]);
        Assert.Empty(TopSeries(registry));
    }

    [Fact]
    public async Task Pipeline_WorkloadsTrainedThenScored_EachEvaluationObservedAndTopSeriesCapped()
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var metrics = new DetectionMetrics(Prometheus.Metrics.WithCustomRegistry(registry));
        var time = new FakeTimeProvider(Some.Time);
        var options = new DetectionOptions
        {
            Clock = "event",
            Shards = 2,
            LearningDuration = TimeSpan.FromMinutes(5),
            MinLearningEvents = 100,
            Models = new ModelOptions
            {
                Window = TimeSpan.FromSeconds(2),
                ShadowDuration = TimeSpan.Zero,
                SeasonPeriod = TimeSpan.Zero,
                Drift = new DriftOptions { Window = TimeSpan.FromMinutes(5), Slots = 5, MinWindows = 60, MetricTopWorkloads = 3 },
            },
        };
        var pipeline = new DetectionPipeline(Microsoft.Extensions.Options.Options.Create(options), new RecordingAlerts(), metrics, time, NullLogger<DetectionPipeline>.Instance);
        pipeline.Start();
        var resolver = new WorkloadResolver("t");

        // Eight workloads learn for 5 minutes, then run 12 minutes more: evaluations every minute once the model serves.
        var workloads = Enumerable.Range(0, 8).Select(i => new SyntheticWorkload(i, Some.Workload(owner: "svc" + i, pod: $"svc{i}-7d9f8b6c5b-x2k4p"))).ToList();
        long offset = 0;
        for (var s = 0; s < 17 * 60; s++)
        {
            foreach (var w in workloads)
            {
                foreach (var e in w.Second(Some.Time.AddSeconds(s)))
                {
                    await pipeline.EnqueueAsync(new IngestItem(e, resolver.Resolve(e.Workload), null, offset++, Stopwatch.GetTimestamp()), default);
                }
            }
        }

        await pipeline.CompleteAsync();
        await pipeline.PublishWorkloadMetricsAsync();

        var snapshots = await pipeline.SnapshotAsync();
        Assert.Equal(8, snapshots.Count);
        Assert.All(snapshots, s => Assert.NotNull(s.Drift!.Psi));
        Assert.All(snapshots, s => Assert.Equal(s.ModelVersion, s.Drift!.ModelVersion));
        var exposition = Exposition.Export(registry);
        var evaluations = Exposition.Sum(exposition, "sentinel_workload_drift_psi_count");
        Assert.InRange(evaluations, 8 * 8, 8 * 12); // 12 minutes of one-minute slices, the first few with too few windows
        Assert.Equal(3, TopSeries(registry).Count);
        Assert.Equal(snapshots.Count(s => s.Drift!.RetrainSuggested), Exposition.Sum(exposition, "sentinel_workloads_retrain_suggested"));
        var top = snapshots.OrderByDescending(s => s.Drift!.Psi).First();
        Assert.Contains(TopSeries(registry), l => l.Contains($"workload=\"{top.Key.OwnerKind}/{top.Key.OwnerName}\"", StringComparison.Ordinal));
    }
}
