using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Detection.Models;
using RuntimeSentinel.TestCommon;
using Xunit.Abstractions;

namespace RuntimeSentinel.Detection.Tests;

/// <summary>Drift as a workload's model runtime measures it: trained, scored live on the event clock, swapped.</summary>
public class DriftInServiceTests(ITestOutputHelper output)
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);

    private static ModelOptions Options() => new()
    {
        ShadowDuration = TimeSpan.Zero,
        SeasonPeriod = TimeSpan.Zero,
        Drift = new DriftOptions { MinWindows = 100, SustainedEvaluations = 2 },
    };

    /// <summary>Feeds events to the runtime in a phase; returns the drift evaluations they made.</summary>
    private static List<DriftSummary> Observe(ModelRuntime runtime, IEnumerable<RuntimeEvent> events, BaselinePhase phase)
    {
        var evaluations = new List<DriftSummary>();
        var findings = new List<Finding>();
        foreach (var e in events)
        {
            var before = runtime.DriftEvaluations;
            runtime.Observe(e, known: true, phase, e.Timestamp, findings);
            findings.Clear();
            if (runtime.DriftEvaluations != before)
            {
                evaluations.Add(runtime.Drift);
            }
        }

        return evaluations;
    }

    /// <summary>A workload trained on 30 minutes of an ordinary service (180 windows of 10 s).</summary>
    private static (ModelRuntime Runtime, SyntheticWorkload Workload) Trained(ModelMemoryBudget? budget = null)
    {
        var workload = new SyntheticWorkload(1);
        var runtime = new ModelRuntime("t/shop/Deployment/cart/cart", Options(), 1, budget);
        Observe(runtime, workload.Seconds(T0, 1800), BaselinePhase.Learning);
        Assert.NotNull(runtime.Train(T0.AddSeconds(1800), "v1", "test"));
        return (runtime, workload);
    }

    /// <summary>The same service with a burst of connections to new peers in every second (a new dependency, or abuse).</summary>
    private static IEnumerable<RuntimeEvent> Shifted(SyntheticWorkload workload, DateTimeOffset from, int seconds)
    {
        for (var s = 0; s < seconds; s++)
        {
            var t = from.AddSeconds(s);
            foreach (var e in workload.Second(t))
            {
                yield return e;
            }

            for (var i = 0; i < 12; i++)
            {
                yield return workload.At(Some.Connect($"10.20.{s % 50}.{i}", 443, workload.Workload), t);
            }
        }
    }

    [Fact]
    public void Observe_NormalThenShiftedHour_LowThenHighWithConnectOnTopAndResetBySwap()
    {
        var (runtime, workload) = Trained();
        Assert.NotNull(runtime.Model!.Card.DriftReference);
        Assert.Equal(runtime.Model.Card.Training.Windows, runtime.Model.Card.DriftReference!.Windows);

        var active = T0.AddSeconds(1800);
        var normal = Observe(runtime, workload.Seconds(active, 3600), BaselinePhase.Active);
        var shifted = Observe(runtime, Shifted(workload, active.AddSeconds(3600), 3600), BaselinePhase.Active);
        output.WriteLine($"normal hour: {string.Join(" ", normal.Select(d => d.Psi?.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture) ?? "-"))}");
        output.WriteLine($"shifted hour: {string.Join(" ", shifted.Select(d => d.Psi?.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture) ?? "-"))}; top {string.Join(", ", shifted[^1].TopFeatures)}");

        // The same service as in training: every known evaluation well under the threshold, nothing suggested.
        var known = normal.Where(d => d.Psi is not null).ToList();
        Assert.True(known.Count >= 6, $"{known.Count} known evaluations in the normal hour");
        Assert.All(known, d => Assert.True(d.Psi < 0.25, $"normal PSI {d.Psi} ({string.Join(", ", d.TopFeatures)})"));
        Assert.DoesNotContain(normal, d => d.RetrainSuggested);

        // An hour later the rolling window holds only shifted windows: the connection features lead, a retrain is suggested.
        var last = shifted[^1];
        Assert.True(last.Psi > 1, $"shifted PSI {last.Psi}");
        Assert.Contains(last.TopFeatures[0].Feature, new[] { "connect", "distinct_destination", "destination_entropy", "events" });
        Assert.Contains(last.TopFeatures, f => f.Feature == "connect");
        Assert.True(last.RetrainSuggested);
        Assert.Equal("v1", last.ModelVersion);

        // A new version in service: drift starts over against its own reference, the suggestion is gone.
        var v2 = new WorkloadModel(runtime.Model.Card with { Version = "v2" }, runtime.Model.Behaviour, runtime.Model.Sequences);
        Assert.True(runtime.Swap(v2, promoted: true));
        Assert.Null(runtime.Drift.Psi);
        Assert.False(runtime.Drift.RetrainSuggested);
        Assert.Equal("v2", runtime.Drift.ModelVersion);
        Assert.Contains("not evaluated yet", runtime.Drift.Unknown, StringComparison.Ordinal);

        // Its histogram is empty: the next quarter hour of the same shifted behaviour is too few windows to judge.
        var after = Observe(runtime, Shifted(workload, active.AddSeconds(7200), 900), BaselinePhase.Active);
        Assert.NotEmpty(after);
        Assert.All(after, d =>
        {
            Assert.Null(d.Psi);
            Assert.False(d.RetrainSuggested);
            Assert.Equal("v2", d.ModelVersion);
        });
    }

    [Fact]
    public void Swap_CardWrittenBeforeDrift_UnknownAndScoringGoesOn()
    {
        var (runtime, workload) = Trained();
        var old = new WorkloadModel(runtime.Model!.Card with { Version = "v0", DriftReference = null }, runtime.Model.Behaviour, runtime.Model.Sequences);

        Assert.True(runtime.Swap(old, promoted: true));
        var scored = runtime.WindowsScored;
        var evaluations = Observe(runtime, Shifted(workload, T0.AddSeconds(1800), 3600), BaselinePhase.Active);

        Assert.Empty(evaluations);
        Assert.True(runtime.WindowsScored - scored >= 300);
        Assert.Null(runtime.Drift.Psi);
        Assert.Equal("v0", runtime.Drift.ModelVersion);
        Assert.Contains("no reference histograms", runtime.Drift.Unknown, StringComparison.Ordinal);
    }

    [Fact]
    public void Swap_BrokenReference_UnknownSayingWhy()
    {
        var (runtime, _) = Trained();
        var reference = runtime.Model!.Card.DriftReference!;
        var broken = reference with { Features = [.. reference.Features.Select((h, i) => i == 0 ? h with { Edges = [.. h.Edges.Reverse()] } : h)] };

        Assert.True(runtime.Swap(new WorkloadModel(runtime.Model.Card with { DriftReference = broken }, runtime.Model.Behaviour, runtime.Model.Sequences)));

        Assert.Contains("unusable: events: edges are not finite and strictly increasing", runtime.Drift.Unknown, StringComparison.Ordinal);
    }

    [Fact]
    public void Swap_DriftHistogram_ChargedToTheBudgetRefusedWhenSpentAndGivenBack()
    {
        var budget = new ModelMemoryBudget(64L << 20);
        var (runtime, _) = Trained(budget);
        var model = runtime.Model!;
        var drift = DriftMonitor.BytesFor(model.Card.DriftReference!, Options().Drift);
        var modelBytes = ModelRuntime.LiveBaseBytes + model.EstimatedBytes;
        Assert.Equal(modelBytes + drift, runtime.ReservedBytes);
        Assert.InRange(drift, 4_000, 16_000); // 12 slices of ~19 features × ≤ 12 bins

        runtime.Release();
        Assert.Equal(0, budget.Used);

        // Room for the model but not its histogram: the model serves, drift is unknown, the refusal is counted.
        var tight = new ModelMemoryBudget(modelBytes + drift - 1);
        var other = new ModelRuntime("t/shop/Deployment/cart/cart", Options(), 1, tight);
        Assert.True(other.Swap(model));
        Assert.Contains("memory budget is spent", other.Drift.Unknown, StringComparison.Ordinal);
        Assert.Equal(1, tight.Refusals(MemoryRefusal.Drift));
        Assert.Equal(modelBytes, tight.Used);
    }
}
