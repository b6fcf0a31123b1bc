using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Detection.Workloads;

namespace RuntimeSentinel.Detection.Baseline;

/// <summary>
/// A CronJob's or Job's runs (pods): a run that sends, connects or executes far more than every earlier run of the job
/// is raised (once per run and metric). Runs are counted in every phase, and enough finished runs end learning.
/// </summary>
internal sealed class RunHistoryDetector(DetectionOptions options) : IEventDetector
{
    private static readonly string[] Raised = [AlertCategories.RunAnomaly];

    public const string DetectorName = "run_history";

    private readonly RunHistory _runs = new();
    private string? _run;

    public string Name => DetectorName;

    public IReadOnlyList<string> Categories => Raised;

    /// <summary>Runs finished since the job began learning.</summary>
    public long FinishedRuns => _runs.FinishedRuns;

    public bool Tracks => true;

    public void Track(in RuntimeEvent e, DetectorContext ctx) => _run = ctx.RunBased ? _runs.Observe(e, ctx.Now) : null;

    public bool LearnedEnough(DetectorContext ctx) => ctx.RunBased && _runs.FinishedRuns >= options.MinLearningRuns;

    public void Learn(in RuntimeEvent e, DetectorContext ctx)
    {
    }

    public void Score(in RuntimeEvent e, DetectorContext ctx, List<Finding> findings)
    {
        if (_run is null || !_runs.TryExceed(_run, options.MinLearningRuns, out var m, out var observed, out var largest, out var median) || ctx.Accepts(Feature.Resource))
        {
            return;
        }

        var name = RunHistory.Metrics[m];
        var ratio = observed / (double)Math.Max(1, largest);
        var unit = m == 0 ? " bytes" : "";
        findings.Add(Finding.OfItem(
            Feature.Resource, new FeatureKey("run:" + name), AlertCategories.RunAnomaly, ratio >= 10 ? Severity.High : Severity.Medium, ratio, 3, largest, _runs.FinishedRuns,
            $"this run's {name} is {observed:N0}{unit}, {ratio:0.#}x the most of the last {Math.Min(_runs.FinishedRuns, RunHistory.MaxRuns)} runs ({largest:N0}; median {median:N0})"));
    }

    public void Reset(DetectorReset why)
    {
        if (why == DetectorReset.Relearn)
        {
            _runs.Clear();
        }
    }

    public void WriteState(StateWriter w, int section) => _runs.WriteState(w);

    public void ReadState(StateReader r, int section) => _runs.ReadState(r);
}
