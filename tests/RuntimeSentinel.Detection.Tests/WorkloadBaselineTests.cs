using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Detection.Baseline;
using RuntimeSentinel.Detection.Workloads;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Detection.Tests;

public class WorkloadBaselineTests
{
    /// <summary>Adds up what each observed event changed (<see cref="BaselineChanges"/>).</summary>
    private sealed class Recorder
    {
        public Dictionary<Feature, int> Learned { get; } = [];

        public Dictionary<Feature, int> Exceeded { get; } = [];

        public List<(BaselinePhase From, BaselinePhase To)> Phases { get; } = [];

        public void Add(in BaselineChanges c)
        {
            foreach (var f in Enum.GetValues<Feature>())
            {
                if (c.Learned(f) > 0)
                {
                    Learned[f] = Learned.GetValueOrDefault(f) + c.Learned(f);
                }

                if (c.Exceeded(f) > 0)
                {
                    Exceeded[f] = Exceeded.GetValueOrDefault(f) + c.Exceeded(f);
                }
            }

            if (c.PhaseChanged)
            {
                Phases.Add((c.From, c.To));
            }
        }
    }

    private static DetectionOptions Options(int minEvents = 10, int minutes = 5, int maxItems = 1024, double rarity = 0) => new()
    {
        LearningDuration = TimeSpan.FromMinutes(minutes),
        MinLearningEvents = minEvents,
        MaxItemsPerFeature = maxItems,
        RarityBits = rarity,
        AlertCooldown = TimeSpan.FromMinutes(10),

        // These tests are about item novelty; the shadow phase of the models has its own tests.
        Models = new Models.ModelOptions { ShadowDuration = TimeSpan.Zero },
    };

    private static List<Finding> Observe(WorkloadBaseline b, RuntimeEvent e, DateTimeOffset now, Recorder? r = null)
    {
        var findings = new List<Finding>();
        var path = e.FilePath is { } p ? PathNormalizer.Normalize(p) : null;
        var changes = b.Observe(e, path, now, findings);
        r?.Add(changes);
        return findings;
    }

    private static WorkloadBaseline Learned(DetectionOptions o, DateTimeOffset t0, Recorder? r = null)
    {
        var b = new WorkloadBaseline(o, t0);
        for (var i = 0; i < 20; i++)
        {
            Observe(b, Some.Exec("/usr/bin/node", "/usr/bin/tini"), t0.AddSeconds(i), r);
            Observe(b, Some.FileOpen($"/proc/{100 + i}/stat"), t0.AddSeconds(i), r);
            Observe(b, Some.Syscall("read"), t0.AddSeconds(i), r);
            Observe(b, Some.Connect("10.96.0.5", 5432), t0.AddSeconds(i), r);
            Observe(b, Some.Dns("db.shop.svc.cluster.local."), t0.AddSeconds(i), r);
            Observe(b, Some.Listen(8080), t0.AddSeconds(i), r);
            Observe(b, Some.Resource(0.2 + (0.01 * (i % 3)), 100 << 20), t0.AddSeconds(i), r);
        }

        return b;
    }

    [Fact]
    public void WarmingUp_ContainerStartsOrEntrypointExitsAfterLearning_ForTheWarmupPeriodOnly()
    {
        var t0 = Some.Time;
        var o = Options(minutes: 0);
        var now = t0.AddMinutes(5);
        RuntimeEvent Exit(bool init) => Some.Event(EventKind.ProcessExit) with
        {
            Process = new ProcessInfo(7, 1, 0, "/coredns", null, "/usr/bin/containerd-shim-runc-v2"),
            Labels = init ? LabelSet.Of(("scenario", "normal"), (EventLabels.ContainerInit, "true")) : LabelSet.Of(("scenario", "normal")),
        };

        // A process ending, even a child of the runtime (an exec probe), is no container lifecycle.
        var b = Learned(o, t0);
        Observe(b, Exit(init: false), now);
        Assert.False(b.WarmingUp(now));

        // The entrypoint (the container's PID 1) exiting: the replica is going away.
        Observe(b, Exit(init: true), now);
        Assert.True(b.WarmingUp(now.AddSeconds(1)));
        Assert.False(b.WarmingUp(now + o.WarmupPeriod));

        // The entrypoint's exec starts one even when the container was already known: its first kprobes arrived
        // before the exec, or a StatefulSet's pod came back under the same name. A shell the runtime starts that is
        // not PID 1 (kubectl exec) starts none.
        var started = Learned(o, t0);
        var entrypoint = Some.Exec("/bin/bash", "/usr/bin/containerd-shim-runc-v2");
        Observe(started, entrypoint, now);
        Assert.False(started.WarmingUp(now.AddSeconds(1)));
        Observe(started, entrypoint with { Labels = LabelSet.Of(("scenario", "normal"), (EventLabels.ContainerInit, "true")) }, now);
        Assert.True(started.WarmingUp(now.AddSeconds(1)));

        // A container never seen before (a new replica) starts one too.
        var c = Learned(o, t0);
        Observe(c, Some.Exec("/usr/bin/node", "/usr/bin/tini", Some.Workload() with { ContainerId = "containerd://ffff", Pod = "cart-7d9f8b6c5b-zzzzz" }), now);
        Assert.True(c.WarmingUp(now.AddSeconds(1)));

        // A workload that started containers all along while learning learned its starts: no pause. (Starts: containers
        // that appear after the first warm-up period of learning; those met at once were already running.)
        var longer = Options(minEvents: 25, minutes: 0);
        var d = new WorkloadBaseline(longer, t0);
        for (var i = 0; i < 25; i++)
        {
            Observe(d, Some.Exec("/usr/bin/node", "/usr/bin/tini", Some.Workload() with { ContainerId = $"containerd://{i / 5:x4}" }), t0.AddSeconds(40 * i));
        }

        Assert.Equal(4, d.ContainersWhileLearning);
        var later = t0.AddHours(1);
        Observe(d, Exit(init: true), later);
        Observe(d, Some.Exec("/usr/bin/node", "/usr/bin/tini", Some.Workload() with { ContainerId = "containerd://ffff" }), later);
        Assert.False(d.WarmingUp(later.AddSeconds(1)));

        // Replicas met together when learning began (three pods found running) are no starts: the next one warms up.
        var e = new WorkloadBaseline(longer, t0);
        for (var i = 0; i < 25; i++)
        {
            Observe(e, Some.Exec("/usr/bin/node", "/usr/bin/tini", Some.Workload() with { ContainerId = $"containerd://{i % 4:x4}" }), t0.AddSeconds(i));
        }

        Assert.Equal(0, e.ContainersWhileLearning);
        Observe(e, Some.Exec("/usr/bin/node", "/usr/bin/tini", Some.Workload() with { ContainerId = "containerd://ffff" }), later);
        Assert.True(e.WarmingUp(later.AddSeconds(1)));
    }

    [Fact]
    public void Absorb_WholeFeatureUntilATime_AcceptsNewItemsSilentlyOnlyUntilThen()
    {
        var t0 = Some.Time;
        var b = Learned(Options(minutes: 0), t0);
        var later = t0.AddMinutes(10);
        b.Absorb(Feature.Dns, null, acceptUntil: later);
        Assert.True(b.Accepts(Feature.Dns, later.AddSeconds(-1)));
        Assert.Empty(Observe(b, Some.Dns("new-before.example."), later.AddSeconds(-1)));

        // The acceptance has ended: the next new name alerts again, and a feature never accepted was never silent.
        Assert.False(b.Accepts(Feature.Dns, later));
        Assert.Single(Observe(b, Some.Dns("new-after.example."), later.AddSeconds(1)));
        Assert.False(b.Accepts(Feature.File, t0));
        b.Absorb(Feature.Dns, null, acceptUntil: t0); // an earlier end never shortens a later one
        Assert.True(b.Accepts(Feature.Dns, later.AddSeconds(-2)));
    }

    [Fact]
    public void Observe_BeforeDurationAndCount_StaysLearningAndNeverAlerts()
    {
        var t0 = Some.Time;
        var b = new WorkloadBaseline(Options(minEvents: 5), t0);
        for (var i = 0; i < 50; i++)
        {
            Assert.Empty(Observe(b, Some.Exec("/bin/x" + i), t0.AddSeconds(i)));
        }

        Assert.Equal(BaselinePhase.Learning, b.Phase);
        Assert.Equal(50, b.EventsLearned);
    }

    [Fact]
    public void Observe_DurationPassedButTooFewEvents_StaysLearning()
    {
        var b = new WorkloadBaseline(Options(minEvents: 100), Some.Time);
        Observe(b, Some.Syscall("read"), Some.Time.AddHours(1));
        Assert.Equal(BaselinePhase.Learning, b.Phase);
    }

    [Fact]
    public void Observe_DurationAndCountReached_TurnsActiveOnceAndReportsIt()
    {
        var r = new Recorder();
        var t0 = Some.Time;
        var b = Learned(Options(minEvents: 10, minutes: 0), t0, r);
        Assert.Equal(BaselinePhase.Active, b.Phase);
        Assert.Single(r.Phases);
        Assert.Equal(t0.AddSeconds(1), b.ActiveSince);
        Assert.Equal(10, b.EventsLearned);
    }

    [Fact]
    public void Observe_NewFileInASubtreeItFannedOutInto_QuietElsewhereNot()
    {
        // While learning, a Rails cache writes into hashed subdirectories two levels deep.
        var o = Options(minutes: 0, minEvents: 12);
        var b = new WorkloadBaseline(o, Some.Time);
        // Hashed names without digits stay themselves after normalisation: each file has a directory of its own.
        string[] dirs = ["abcd/cdef", "efab/bcde", "cdab/efcd", "abab/cdcd", "efef/abef", "bcbc/dede", "fafa/bebe", "dcba/fedc", "aabb/ccdd", "eeff/aacc"];
        for (var i = 0; i < dirs.Length; i++)
        {
            Observe(b, Some.FileOpen($"/app/tmp/cache/{dirs[i]}/views-name{(char)('g' + i)}", "O_WRONLY|O_CREAT"), Some.Time.AddSeconds(i));
        }

        Observe(b, Some.Exec("/usr/bin/node", "/usr/bin/tini"), Some.Time.AddSeconds(20));
        Observe(b, Some.Exec("/usr/bin/node", "/usr/bin/tini"), Some.Time.AddSeconds(21));
        Assert.Equal(BaselinePhase.Active, b.Phase);

        // A new fan-out directory and a new name: how this cache names things.
        Assert.Empty(Observe(b, Some.FileOpen("/app/tmp/cache/face/bead/views-other", "O_WRONLY|O_CREAT"), Some.Time.AddMinutes(1)));

        // The same kind of write anywhere else is still news.
        Assert.Single(Observe(b, Some.FileOpen("/app/data/export/dump.sql", "O_WRONLY|O_CREAT"), Some.Time.AddMinutes(1)));
    }

    private static RuntimeEvent Proc(EventKind kind, int pid, int ppid, string exe, string? parent, bool init = false) => Some.Event(kind) with
    {
        Process = new ProcessInfo(pid, ppid, 0, exe, null, parent),
        Labels = init ? LabelSet.Of(("scenario", "normal"), (EventLabels.ContainerInit, "true")) : LabelSet.Of(("scenario", "normal")),
    };

    private static RuntimeEvent Read(int pid, string exe, string path, string flags = "O_RDONLY") => Some.FileOpen(path, flags) with
    {
        Process = new ProcessInfo(pid, 500, 0, exe, null, "/bin/sh"),
    };

    [Fact]
    public void Observe_KubectlExecThatOnlyDiagnoses_RaisesNothingAndCountsTheSession()
    {
        var t0 = Some.Time;
        var b = Learned(Options(minutes: 0, minEvents: 140), t0);
        var t = t0.AddHours(1);
        var raised = new List<Finding>();
        raised.AddRange(Observe(b, Proc(EventKind.ProcessExec, 500, 1, "/bin/sh", "/usr/bin/runc"), t));
        raised.AddRange(Observe(b, Proc(EventKind.ProcessExec, 501, 500, "/bin/ps", "/bin/sh"), t.AddSeconds(4)));
        raised.AddRange(Observe(b, Proc(EventKind.ProcessExec, 502, 500, "/bin/cat", "/bin/sh"), t.AddSeconds(8)));
        raised.AddRange(Observe(b, Read(502, "/bin/cat", "/etc/resolv.conf"), t.AddSeconds(8)));
        raised.AddRange(Observe(b, Proc(EventKind.ProcessExec, 503, 500, "/usr/bin/env", "/bin/sh"), t.AddSeconds(12)));
        raised.AddRange(Observe(b, Proc(EventKind.ProcessExit, 500, 1, "/bin/sh", "/usr/bin/runc"), t.AddSeconds(15)));

        Assert.Empty(raised);
        Assert.Equal(1, b.ExecSessionsDiagnosed);
        Assert.Equal(0, b.ExecSessionsEscalated);
        Assert.Equal(5, b.ExecFindingsDropped);
        Assert.True(b.InExecDiagnosis(t.AddSeconds(20)));
        Assert.False(b.InExecDiagnosis(t.AddMinutes(2)));

        // The same shell started by the server itself is no session: raised at once. Nor is a server the runtime started
        // (a sensor that does not name PID 1): only a shell or a diagnostic tool opens a session.
        Assert.Contains(Observe(b, Proc(EventKind.ProcessExec, 600, 100, "/bin/sh", "/usr/bin/node"), t.AddMinutes(5)), f => f.Severity == Severity.High);
        Observe(b, Proc(EventKind.ProcessExec, 700, 1, "/usr/bin/node", "/usr/bin/runc"), t.AddMinutes(20));
        Assert.Contains(Observe(b, Proc(EventKind.ProcessExec, 701, 700, "/bin/sh", "/usr/bin/node"), t.AddMinutes(20)), f => f.Severity == Severity.High);
    }

    [Theory]
    [InlineData("/usr/bin/curl", null, "network tool started")]
    [InlineData("/bin/cat", "/var/run/secrets/kubernetes.io/serviceaccount/token", "sensitive credential")]
    [InlineData("/bin/cat", "/app/config/settings.json|O_WRONLY", "file written")]
    public void Observe_KubectlExecThatGoesFurther_RaisesTheHeldFindingsTellingTheSession(string exe, string? file, string why)
    {
        var t0 = Some.Time;
        var b = Learned(Options(minutes: 0, minEvents: 140), t0);
        var t = t0.AddHours(1);
        Assert.Empty(Observe(b, Proc(EventKind.ProcessExec, 500, 1, "/bin/bash", "/usr/bin/containerd-shim-runc-v2"), t));
        Assert.Empty(Observe(b, Proc(EventKind.ProcessExec, 501, 500, "/bin/ps", "/bin/bash"), t.AddSeconds(3)));

        var raised = Observe(b, Proc(EventKind.ProcessExec, 502, 500, exe, "/bin/bash"), t.AddSeconds(6));
        if (file is not null)
        {
            Assert.Empty(raised); // cat itself is a diagnostic tool
            var parts = file.Split('|');
            raised = Observe(b, Read(502, exe, parts[0], parts.Length > 1 ? parts[1] : "O_RDONLY"), t.AddSeconds(6));
        }

        // Everything held comes out with the step that went further: the shell, ps, then what went beyond.
        Assert.Contains(raised, f => f.Item.A == "/bin/bash" && f.Severity == Severity.High && f.Reason.Contains("kubectl exec", StringComparison.Ordinal) && f.Reason.Contains("bash, ps", StringComparison.Ordinal) && f.Reason.Contains(why, StringComparison.Ordinal));
        Assert.Contains(raised, f => f.Item.A == "/bin/ps");
        Assert.Equal(1, b.ExecSessionsEscalated);

        // Once the session went further, what it does next is raised as it comes.
        Assert.NotEmpty(Observe(b, Proc(EventKind.ProcessExec, 503, 500, "/bin/df", "/bin/bash"), t.AddSeconds(9)));
    }

    [Fact]
    public void Observe_ShellInAnotherReplicaUnderASessionPid_RaisedNotHeldAsTheSession()
    {
        // A sensor reporting namespace pids gives every replica the same small pids: a kubectl exec into one pod must
        // not take in a shell that a process of the same pid spawns in another pod (an exploit there, raised at once).
        var t0 = Some.Time;
        var b = Learned(Options(minutes: 0, minEvents: 140), t0);
        var t = t0.AddHours(1);
        var other = Some.Workload() with { Pod = "cart-7d9f-other", ContainerId = "containerd://0f0f0f0f0f0f" };
        Assert.Empty(Observe(b, Proc(EventKind.ProcessExec, 500, 1, "/bin/bash", "/usr/bin/runc"), t));

        // The session's own pod, also as another sensor writes its container id (Falco's short id): the session's.
        Assert.Empty(Observe(b, Proc(EventKind.ProcessExec, 501, 500, "/bin/ps", "/bin/bash"), t.AddSeconds(1)));
        Assert.Empty(Observe(b, Proc(EventKind.ProcessExec, 502, 500, "/bin/df", "/bin/bash") with { Workload = Some.Workload() with { ContainerId = "0123456789AB" } }, t.AddSeconds(2)));

        var raised = Observe(b, Proc(EventKind.ProcessExec, 501, 500, "/bin/sh", "/usr/bin/node") with { Workload = other }, t.AddSeconds(3));

        Assert.Contains(raised, f => f.Item.A == "/bin/sh");
        Assert.Equal(0, b.ExecSessionsEscalated);
    }

    [Fact]
    public void Observe_KnownContainerAsAnotherSensorWritesItsId_NoStartAndNoWarmup()
    {
        // Tetragon wrote containerd://<full id> while the workload learned; Falco writes the 12-character short id. Its
        // first rule for the container (often during an attack) is no container start: nothing is learned as start-up.
        var t0 = Some.Time;
        var b = Learned(Options(minutes: 0, minEvents: 140), t0);
        var t = t0.AddHours(1);

        var raised = Observe(b, Some.Exec("/usr/bin/nmap", "/bin/sh", Some.Workload() with { ContainerId = "0123456789AB" }), t);

        Assert.False(b.WarmingUp(t.AddSeconds(1)));
        Assert.Contains(raised, f => f.Item.A == "/usr/bin/nmap");
        Observe(b, Some.Exec("/usr/bin/node", "/usr/bin/tini", Some.Workload(pod: "cart-7d9f8b6c5b-new01") with { ContainerId = "containerd://fedcba9876543210fedc" }), t.AddSeconds(2));
        Assert.True(b.WarmingUp(t.AddSeconds(3)));
    }

    [Fact]
    public void Observe_EntrypointShellOfAContainerStart_IsNoSession()
    {
        // PID 1 started by the runtime is the container's entrypoint (a bitnami bash script): a start, learned as such
        // when the workload did not see its containers start while learning; never held as someone's session.
        var t0 = Some.Time;
        var b = Learned(Options(minutes: 0, minEvents: 140), t0);
        var t = t0.AddHours(1);
        Assert.Empty(Observe(b, Proc(EventKind.ProcessExec, 1, 0, "/bin/bash", "/usr/bin/containerd-shim-runc-v2", init: true), t));
        Assert.True(b.WarmingUp(t.AddSeconds(1)));
        Assert.True(b.StartupLearned > 0);
        Assert.Equal(0, b.ExecSessionsDiagnosed + b.ExecSessionsEscalated);
    }

    [Fact]
    public void Observe_CataloguedFileWhileAdaptingToARollout_StillRaisedHigh()
    {
        // A rollout makes lesser findings the new version's normal; what the catalogue knows (another container's files
        // through /proc/PID/root) is no lesser finding, whatever the policy's own severity for a read would be.
        var t0 = Some.Time;
        var b = Learned(Options(minutes: 0, minEvents: 140), t0);
        var t = t0.AddHours(1);
        var rollout = Some.Workload() with { ImageDigest = "sha256:" + new string('b', 64) };
        Observe(b, Some.Exec("/usr/bin/node", "/usr/bin/tini", rollout), t);
        Assert.True(b.IsAdapting(t.AddSeconds(1)));
        var f = Assert.Single(Observe(b, Some.FileOpen("/proc/4242/root/var/run/secrets/tokens/istio-token", "O_RDONLY", rollout), t.AddSeconds(2)));
        Assert.Equal(Severity.High, f.Severity);
        Assert.Contains("/proc/PID/root", f.Reason, StringComparison.Ordinal);
        Assert.Empty(Observe(b, Some.FileOpen("/app/new-version/asset.js", "O_RDONLY", rollout), t.AddSeconds(3)));
    }

    [Fact]
    public void Observe_CacheFannedOutIntoNamesThatNormaliseToFewShapes_BusyByRawNamesAndAfterRestore()
    {
        // 4-hex cache directories normalise to {hex}, {n} or stay a word when they hold letters only: many entries
        // written while learning are few shapes, and the next entry can be a shape never learned.
        var o = Options(minutes: 0, minEvents: 12);
        var b = new WorkloadBaseline(o, Some.Time);
        for (var i = 0; i < 10; i++)
        {
            Observe(b, Some.FileOpen($"/rails/tmp/cache/c{i}a1/0{i}b7/views-85bc665dbe4930d{i}", "O_WRONLY"), Some.Time.AddSeconds(i));
        }

        Observe(b, Some.Exec("/usr/bin/node", "/usr/bin/tini"), Some.Time.AddSeconds(20));
        Observe(b, Some.Exec("/usr/bin/node", "/usr/bin/tini"), Some.Time.AddSeconds(21));
        Assert.Equal(BaselinePhase.Active, b.Phase);
        var later = Some.Time.AddMinutes(5);
        Assert.Empty(Observe(b, Some.FileOpen("/rails/tmp/cache/6170/8062/views-89a63f8e7ec47d1c", "O_WRONLY"), later));
        Assert.Empty(Observe(b, Some.FileOpen("/rails/tmp/cache/fecb/cf21/views-faa17c979c53eea0", "O_WRONLY"), later));

        // A checkpoint keeps it: the learned paths alone are the few shapes.
        var restored = WorkloadCheckpoint.Read(WorkloadCheckpoint.Write("w", b, null, later), o).Baseline;
        Assert.Empty(Observe(restored, Some.FileOpen("/rails/tmp/cache/dead/beef/views-0123456789abcdef", "O_WRONLY"), later));

        // Reading many differently named files is no creating them, and elsewhere is still news.
        Assert.Single(Observe(restored, Some.FileOpen("/rails/config/credentials.yml.enc", "O_WRONLY"), later));
    }

    [Fact]
    public void Observe_KnownBehaviourAfterLearning_IsQuiet()
    {
        var t0 = Some.Time;
        var b = Learned(Options(minutes: 0, minEvents: 140), t0);
        Assert.Equal(BaselinePhase.Active, b.Phase);
        var later = t0.AddHours(1);
        Assert.Empty(Observe(b, Some.Exec("/usr/bin/node", "/usr/bin/tini"), later));
        Assert.Empty(Observe(b, Some.FileOpen("/proc/99999/stat"), later));
        Assert.Empty(Observe(b, Some.Syscall("read"), later));
        Assert.Empty(Observe(b, Some.Connect("10.96.0.5", 5432), later));
        Assert.Empty(Observe(b, Some.Dns("DB.shop.svc.cluster.local"), later));
        Assert.Empty(Observe(b, Some.Listen(8080), later));
        Assert.Empty(Observe(b, Some.Resource(0.22, 101 << 20), later));
    }

    [Fact]
    public void Observe_NovelBehaviourAfterLearning_RaisesCategorisedFindings()
    {
        var t0 = Some.Time;
        var b = Learned(Options(minutes: 0, minEvents: 140), t0);
        var later = t0.AddHours(1);

        var shell = Assert.Single(Observe(b, Some.Exec("/bin/sh", "/usr/bin/node"), later));
        Assert.Equal("unexpected_process", shell.Category);
        Assert.Equal(Severity.High, shell.Severity);
        Assert.Equal(0, shell.LearnedCount);
        Assert.True(shell.Score > shell.Threshold);

        var lineage = Assert.Single(Observe(b, Some.Exec("/usr/bin/node", "/bin/bash"), later));
        Assert.Equal("unexpected_lineage", lineage.Category);

        Assert.Equal("unexpected_file", Assert.Single(Observe(b, Some.FileOpen("/etc/shadow"), later)).Category);
        Assert.Equal("unexpected_syscall", Assert.Single(Observe(b, Some.Syscall("ptrace"), later)).Category);
        var net = Assert.Single(Observe(b, Some.Connect("203.0.113.9", 443), later));
        Assert.Equal(("unexpected_network", Severity.High), (net.Category, net.Severity));
        Assert.Equal("unexpected_dns", Assert.Single(Observe(b, Some.Dns("evil.example"), later)).Category);
        Assert.Equal("unexpected_listen", Assert.Single(Observe(b, Some.Listen(4444), later)).Category);
        var cpu = Assert.Single(Observe(b, Some.Resource(1.9, 100 << 20), later));
        Assert.Equal("resource_anomaly", cpu.Category);
        Assert.True(cpu.Score > 6);
    }

    [Fact]
    public void Observe_SameNovelItemWithinCooldown_AlertsOnceThenAgainAfterIt()
    {
        var t0 = Some.Time;
        var b = Learned(Options(minutes: 0, minEvents: 140), t0);
        var later = t0.AddHours(1);
        Assert.Single(Observe(b, Some.Dns("evil.example"), later));
        Assert.Empty(Observe(b, Some.Dns("evil.example"), later.AddMinutes(5)));
        Assert.Equal(1, b.CooldownSuppressed);
        Assert.Single(Observe(b, Some.Dns("evil.example"), later.AddMinutes(11)));
    }

    [Fact]
    public void Observe_RarityBitsZero_ItemSeenOnceIsQuiet_RarityBitsOne_ItAlerts()
    {
        var t0 = Some.Time;
        foreach (var (bits, expectAlert) in new[] { (0.0, false), (1.0, true) })
        {
            var b = new WorkloadBaseline(Options(minutes: 0, minEvents: 101, rarity: bits), t0);
            Observe(b, Some.Dns("rare.example"), t0);
            for (var i = 0; i < 100; i++)
            {
                Observe(b, Some.Dns("common.example"), t0);
            }

            Assert.Equal(BaselinePhase.Active, b.Phase);
            Assert.Equal(expectAlert, Observe(b, Some.Dns("rare.example"), t0.AddHours(1)).Count == 1);
        }
    }

    [Fact]
    public void Observe_FloodOfUniquePaths_StaysWithinCapAndCountsOverflow()
    {
        var r = new Recorder();
        var b = new WorkloadBaseline(Options(minEvents: 100_000, maxItems: 64), Some.Time);
        for (var i = 0; i < 10_000; i++)
        {
            // Letters only, so normalisation cannot fold them together: this is the worst case for the cap.
            Observe(b, Some.FileOpen("/srv/upload/" + Letters(i)), Some.Time, r);
        }

        Assert.Equal(64, b.Counter(Feature.File).Count);
        Assert.Equal(64, r.Learned[Feature.File]);
        Assert.Equal(10_000 - 64, r.Exceeded[Feature.File]);
        Assert.Equal(10_000 - 64, b.Counter(Feature.File).Overflow);
    }

    private static string Letters(int i)
    {
        var s = "";
        do
        {
            s += (char)('a' + (i % 26));
            i /= 26;
        }
        while (i > 0);
        return s;
    }

    [Fact]
    public void Observe_SaturatedPathBaseline_StillAlertsOnSensitiveFilesOnly()
    {
        var o = Options(minutes: 0, minEvents: 200, maxItems: 16);
        var b = new WorkloadBaseline(o, Some.Time);
        for (var i = 0; i < 200; i++)
        {
            Observe(b, Some.FileOpen($"/srv/f{(char)('a' + (i % 26))}{(char)('a' + (i / 26))}"), Some.Time);
        }

        Assert.True(b.Counter(Feature.File).Saturated);
        Assert.Empty(Observe(b, Some.FileOpen("/srv/never-seen"), Some.Time.AddHours(1)));
        Assert.Single(Observe(b, Some.FileOpen("/etc/shadow"), Some.Time.AddHours(1)));
    }

    [Fact]
    public void Observe_ManyDistinctNovelItems_CooldownMemoryStaysBounded()
    {
        const int capacity = 32;
        var o = Options(minutes: 0, minEvents: 1, maxItems: capacity);
        var b = new WorkloadBaseline(o, Some.Time);
        Observe(b, Some.Dns("seed"), Some.Time);
        int alerts = 0, peak = 0, evictions = 0;
        for (var i = 0; i < 1000; i++)
        {
            var before = b.CooldownEntries;
            alerts += Observe(b, Some.Dns("n" + i), Some.Time.AddSeconds(1)).Count;
            var after = b.CooldownEntries;
            Assert.True(after <= capacity, $"after item {i}: {after} cooldown entries, capacity {capacity}");
            peak = Math.Max(peak, after);

            // Every item alerted and so added its cooldown: holding no more than before means older ones went out.
            evictions += after <= before ? 1 : 0;
        }

        Assert.Equal(1000, alerts);
        Assert.Equal(capacity, peak); // cooldowns are kept up to the bound, not dropped
        // Each eviction frees at most the whole capacity, so 1000 items through 32 places need at least 31 of them.
        Assert.True(evictions >= (1000 - capacity + capacity - 1) / capacity, $"{evictions} evictions");

        // The newest item's cooldown survived the evictions: it does not alert again within the cooldown.
        Assert.Empty(Observe(b, Some.Dns("n999"), Some.Time.AddSeconds(2)));
    }

    [Fact]
    public void Observe_DirectoryWithManyLearnedNames_NewNameThereIsQuietButElsewhereAlerts()
    {
        var b = new WorkloadBaseline(Options(minutes: 0, minEvents: 12), Some.Time);
        for (var i = 0; i < 12; i++)
        {
            Observe(b, Some.FileOpen("/tmp/php" + Letters(1000 + (i * 7919)), "O_RDWR|O_CREAT"), Some.Time);
        }

        Assert.Equal(Core.Alerts.BaselinePhase.Active, b.Phase);
        Assert.Empty(Observe(b, Some.FileOpen("/tmp/phpzzqwy", "O_RDWR|O_CREAT"), Some.Time.AddHours(1)));
        Assert.Single(Observe(b, Some.FileOpen("/var/www/new.php", "O_RDWR|O_CREAT"), Some.Time.AddHours(1)));
        Assert.Single(Observe(b, Some.FileOpen("/etc/shadow"), Some.Time.AddHours(1)));
    }

    [Fact]
    public void Observe_LastEventKnown_MatchesKnowsBeforeTheEventInEveryPhase()
    {
        var t0 = Some.Time;
        var b = new WorkloadBaseline(Options(minEvents: 3, minutes: 0), t0);
        RuntimeEvent[] events =
        [
            Some.Exec("/usr/bin/node"), Some.Exec("/usr/bin/node"), Some.FileOpen("/app/a.js"), Some.FileOpen("/app/a.js"),
            Some.Connect("10.0.0.9", 80), Some.Connect("10.0.0.9", 80), Some.Syscall("read"),
            Some.Exec("/bin/sh"), Some.Exec("/usr/bin/node"), Some.FileOpen("/etc/shadow"), Some.FileOpen("/app/a.js"), Some.Connect("203.0.113.9", 4444),
        ];
        var seenActive = false;
        foreach (var e in events)
        {
            var path = e.FilePath is { } p ? PathNormalizer.Normalize(p) : null;
            var expected = b.Knows(e, path);
            Observe(b, e, t0.AddSeconds(1));
            Assert.Equal(expected, b.LastEventKnown);
            seenActive |= b.Phase == BaselinePhase.Active;
        }

        Assert.True(seenActive);
    }
}
