using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Detection.Baseline;
using RuntimeSentinel.Detection.Workloads;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Detection.Tests;

/// <summary>Detectors of events on the registry: a workload's baseline builds its set by name, configuration turns one off.</summary>
public class EventDetectorRegistryTests
{
    /// <summary>A small detector as a newcomer would add one: it raises the first exec of /usr/bin/marker after learning.</summary>
    private sealed class MarkerDetector : IEventDetector
    {
        public const string DetectorName = "marker";

        public int Learned { get; private set; }

        public int Scored { get; private set; }

        public string Name => DetectorName;

        public IReadOnlyList<string> Categories => [AlertCategories.ResourceAnomaly];

        public void Learn(in RuntimeEvent e, DetectorContext ctx) => Learned++;

        public void Score(in RuntimeEvent e, DetectorContext ctx, List<Finding> findings)
        {
            Scored++;
            if (e.Kind == EventKind.ProcessExec && e.Process.Exe == "/usr/bin/marker")
            {
                findings.Add(Finding.OfItem(Feature.Resource, new FeatureKey("marker"), AlertCategories.ResourceAnomaly, Severity.Low, 1, 0, Learned, Scored, "marker ran"));
            }
        }

        public void Reset(DetectorReset why)
        {
        }

        public void WriteState(StateWriter w, int section)
        {
        }

        public void ReadState(StateReader r, int section)
        {
        }
    }

    private static DetectionOptions Options(params string[] disabled) => new()
    {
        LearningDuration = TimeSpan.FromMinutes(5),
        MinLearningEvents = 10,
        AlertCooldown = TimeSpan.FromMinutes(10),
        DisabledDetectors = disabled,
        Models = new Models.ModelOptions { ShadowDuration = TimeSpan.Zero },
    };

    private static List<Finding> Observe(WorkloadBaseline b, RuntimeEvent e, DateTimeOffset now)
    {
        var findings = new List<Finding>();
        b.Observe(e, e.FilePath is { } p ? PathNormalizer.Normalize(p) : null, now, findings);
        return findings;
    }

    /// <summary>Twenty seconds of a node service, then six minutes later (past learning) the given event.</summary>
    private static List<Finding> LearnThen(WorkloadBaseline b, RuntimeEvent then)
    {
        var t0 = Some.Time;
        for (var i = 0; i < 20; i++)
        {
            Observe(b, Some.Exec("/usr/bin/node", "/usr/bin/tini"), t0.AddSeconds(i));
            Observe(b, Some.Resource(0.2 + (0.01 * (i % 3)), 100 << 20), t0.AddSeconds(i));
        }

        Observe(b, Some.Syscall("read"), t0.AddMinutes(6));
        Assert.Equal(BaselinePhase.Active, b.Phase);
        return Observe(b, then, t0.AddMinutes(6).AddSeconds(1));
    }

    [Fact]
    public void Default_BaselineDetectors_RegisteredInTheirScoringOrder()
    {
        Assert.Equal(
            ["novelty", "resource", "run_history", "peer_volume", "peer_rate", "failed_sessions", "activity_profile"],
            DetectorRegistry.Default.EventNames);
    }

    [Fact]
    public void With_NameAlreadyRegistered_Throws()
    {
        Assert.Throws<ArgumentException>(() => DetectorRegistry.Default.Event("novelty", (o, m) => new MarkerDetector()));
    }

    [Fact]
    public void Observe_NoveltyEnabled_RaisesNewProcess()
    {
        var findings = LearnThen(new WorkloadBaseline(Options(), Some.Time), Some.Exec("/usr/bin/nc", "/usr/bin/node"));

        Assert.Contains(findings, f => f.Category == AlertCategories.UnexpectedProcess);
    }

    [Fact]
    public void Observe_NoveltyDisabledByConfiguration_RaisesNothingAndLearnsNothing()
    {
        var b = new WorkloadBaseline(Options("novelty"), Some.Time);

        var findings = LearnThen(b, Some.Exec("/usr/bin/nc", "/usr/bin/node"));

        Assert.Empty(findings);
        Assert.Equal(0, b.Counter(Feature.Exec).Count);
        Assert.DoesNotContain("novelty", b.Detectors);
    }

    [Fact]
    public void Observe_ResourceDisabledByConfiguration_CpuSpikeRaisesNothing()
    {
        var spike = Some.Resource(4.0, 100 << 20);

        Assert.Contains(LearnThen(new WorkloadBaseline(Options(), Some.Time), spike), f => f.Category == AlertCategories.ResourceAnomaly);
        Assert.Empty(LearnThen(new WorkloadBaseline(Options("resource"), Some.Time), spike));
    }

    [Fact]
    public void Observe_DetectorRegisteredByOneLine_LearnsAndScoresAfterTheOthers()
    {
        var marker = new MarkerDetector();
        var registry = DetectorRegistry.Default.Event(MarkerDetector.DetectorName, (o, m) => marker);
        var b = new WorkloadBaseline(Options(), Some.Time, null, registry);

        var findings = LearnThen(b, Some.Exec("/usr/bin/marker", "/usr/bin/node"));

        Assert.Equal(41, marker.Learned);
        Assert.Equal(1, marker.Scored);
        Assert.Equal([AlertCategories.UnexpectedProcess, AlertCategories.ResourceAnomaly], findings.Select(f => f.Category));
        Assert.Equal("marker ran", findings[^1].Reason);
    }

    [Fact]
    public void WriteState_DetectorDisabled_SameLayoutReadByTheDefaultSet()
    {
        var b = new WorkloadBaseline(Options("peer_rate", "activity_profile"), Some.Time);
        LearnThen(b, Some.Exec("/usr/bin/nc", "/usr/bin/node"));
        using var stream = new MemoryStream();
        using (var w = new StateWriter(stream))
        {
            b.WriteState(w);
        }

        stream.Position = 0;
        using var r = new StateReader(stream);
        var restored = WorkloadBaseline.ReadState(r, Options());

        Assert.Equal(stream.Length, stream.Position);
        Assert.Equal(b.Counter(Feature.Exec).Count, restored.Counter(Feature.Exec).Count);
        Assert.Equal(BaselinePhase.Active, restored.Phase);
    }

    [Fact]
    public void Validate_UnknownDisabledDetector_NamesIt()
    {
        var result = new DetectionOptionsValidator().Validate(null, new DetectionOptions { DisabledDetectors = ["novelty", "noveltee"] });

        Assert.True(result.Failed);
        Assert.Contains("'noveltee'", result.FailureMessage, StringComparison.Ordinal);
        Assert.DoesNotContain("'novelty'", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void SelectFor_WorkloadInAClassThatTurnsResourceOff_OnlyThatClassLosesIt()
    {
        var o = Options();
        o.DetectorClasses.Add(new DetectorClassOptions { Namespaces = ["batch-*"], OwnerKinds = ["Job", "CronJob"], Disabled = ["resource"] });
        var spike = Some.Resource(4.0, 100 << 20);
        var job = new Core.Workloads.WorkloadKey("c", "batch-nightly", "CronJob", "report", "report");
        var web = new Core.Workloads.WorkloadKey("c", "batch-nightly", "Deployment", "web", "web");

        var inClass = WorkloadState.New(job, o, Some.Time, null, null).Baseline;
        var outside = WorkloadState.New(web, o, Some.Time, null, null).Baseline;

        Assert.DoesNotContain("resource", inClass.Detectors);
        Assert.Contains("resource", outside.Detectors);
        Assert.Empty(LearnThen(inClass, spike));
        Assert.Contains(LearnThen(outside, spike), f => f.Category == AlertCategories.ResourceAnomaly);
    }

    [Fact]
    public void Validate_UnknownDetectorInAClass_NamesTheClassAndIt()
    {
        var result = new DetectionOptionsValidator().Validate(null, new DetectionOptions { DetectorClasses = [new DetectorClassOptions { OwnerKinds = ["Job"], Disabled = ["activity_profil"] }] });

        Assert.True(result.Failed);
        Assert.Contains("Detection:DetectorClasses:0:Disabled", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("'activity_profil'", result.FailureMessage, StringComparison.Ordinal);
    }
}
