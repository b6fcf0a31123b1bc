using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection.Models;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Detection.Tests;

/// <summary>
/// The one registry of every detector shape: names, the categories the detectors raise against the catalogue, and a
/// stream detector added by one line that the model runtime serves, scores, thresholds and raises like the sequence model.
/// </summary>
public sealed class DetectorRegistryTests
{
    /// <summary>
    /// A small stream detector as a newcomer would add one: the longest run of consecutive <c>execve</c> calls a
    /// process made (a shell loop, a spawner), scored on every call.
    /// </summary>
    private sealed class ExecveRunDetector : IStreamDetector
    {
        public const string DetectorName = "execve_run";

        private readonly Dictionary<long, (int Run, bool Alerted)> _streams = [];

        public string Name => DetectorName;

        public long MemoryBytes => _streams.Count * 16L;

        public string Category => AlertCategories.RateSpike;

        public double Push(long stream, string? source, string item)
        {
            var s = _streams.GetValueOrDefault(stream);
            s.Run = item == "execve" ? s.Run + 1 : 0;
            _streams[stream] = s;
            return s.Run;
        }

        public bool Opens(long stream, double score, double threshold)
        {
            var s = _streams[stream];
            var opens = score > threshold && !s.Alerted;
            _streams[stream] = s with { Alerted = score > threshold };
            return opens;
        }

        public string Describe(long stream, string? source, double score, double threshold) => $"{source} (pid {ProcessKey.Pid(stream)}) ran {score:0} execve calls in a row > {threshold:0}";

        public IReadOnlyList<FeatureContribution> Explain(long stream, int top, double typical) => [new("call:execve", _streams[stream].Run, typical, 1)];

        public void End(long stream) => _streams.Remove(stream);

        public void Clear() => _streams.Clear();
    }

    [Fact]
    public void Default_Names_EventDetectorsThenWindowKindsThenStreamKinds()
    {
        Assert.Equal(
            ["novelty", "resource", "run_history", "peer_volume", "peer_rate", "failed_sessions", "activity_profile", "behaviour_pca", "spike", "onnx", "sequence"],
            DetectorRegistry.Default.Names);
        Assert.Equal(DetectorRegistry.Default.Names, DetectorSwitches.Known);
    }

    [Fact]
    public void Default_EveryCatalogueCategory_RaisedByARegisteredDetectorOrNamedAsTheHosts()
    {
        var (model, _) = WorkloadModelTests.Trained();
        var context = new ModelDetectorContext(model, WorkloadModelTests.Options().Models, ModelMemoryBudget.Unlimited());
        IEnumerable<IDetector> detectors =
        [
            .. DetectorRegistry.Default.CreateEventDetectors(new DetectionOptions(), null),
            .. DetectorRegistry.Default.CreateWindowDetectors(context),
            .. DetectorRegistry.Default.CreateStreamDetectors(context),
        ];
        var raised = detectors.SelectMany(d => d.Categories).ToHashSet();

        // Raised by a host, not a detector: the baseline for an ephemeral container (from its first event, in any
        // phase), alerting for a workload over its budget.
        string[] hosts = [AlertCategories.ContainerAdded, AlertCategories.AlertBudgetExceeded];
        Assert.Equal(AlertCategories.All.Select(c => c.Name).Except(hosts).Order(), raised.Order());
        Assert.All(raised, c => Assert.NotNull(AlertCategories.Find(c)));
    }

    [Fact]
    public void Observe_StreamDetectorRegisteredByOneLine_ServedAndRaisesOneUnwindowedAlertPerStretch()
    {
        var (trained, workload) = WorkloadModelTests.Trained();
        var model = trained.WithCard(trained.Card with { Thresholds = new Dictionary<string, double>(trained.Card.Thresholds) { [ExecveRunDetector.DetectorName] = 3 } });
        var registry = DetectorRegistry.Default.Stream(ExecveRunDetector.DetectorName, _ => new ExecveRunDetector());
        var runtime = new ModelRuntime(workload, WorkloadModelTests.Options().Models, 1, ModelMemoryBudget.Unlimited(), registry);
        Assert.True(runtime.Swap(model));
        Assert.Equal([WorkloadModel.SequenceDetector, ExecveRunDetector.DetectorName], runtime.Serving.TakeLast(2));

        var w = new SyntheticWorkload(6);
        var t = Some.Time.AddHours(1);
        var findings = new List<Finding>();
        string[] calls = ["read", "execve", "execve", "execve", "execve", "execve", "read", "execve"];
        foreach (var c in calls)
        {
            runtime.Observe(w.At(w.Syscall(c, 4242, "/bin/sh"), t), known: true, BaselinePhase.Active, t, findings);
        }

        var f = Assert.Single(findings, f => f.Detector == ExecveRunDetector.DetectorName);
        Assert.Equal((AlertCategories.RateSpike, 4.0, 3.0, "/bin/sh"), (f.Category, f.Score, f.Threshold, f.Source));
        Assert.Equal("/bin/sh (pid 4242) ran 4 execve calls in a row > 3", f.Reason);
        Assert.True(WorkloadKey.TryParse(workload, out var key));
        var alert = AlertFactory.Create(key, Some.Syscall("execve"), f, new BaselineState(BaselinePhase.Active, TimeSpan.FromHours(1), 1000, null), t, runtime);
        Assert.False(alert.Windowed);
        Assert.Equal(AlertFactory.Fingerprint(key, ExecveRunDetector.DetectorName, AlertCategories.RateSpike, "model", "/bin/sh"), alert.Fingerprint);
        Assert.Equal(model.Card.Version, alert.ModelVersion);
    }

    [Fact]
    public void Stream_NameOfAnotherShapeTaken_Throws()
    {
        Assert.Throws<ArgumentException>(() => DetectorRegistry.Default.Stream("novelty", _ => null));
        Assert.Throws<ArgumentException>(() => DetectorRegistry.Default.Event("sequence", (o, m) => throw new InvalidOperationException()));
    }
}
