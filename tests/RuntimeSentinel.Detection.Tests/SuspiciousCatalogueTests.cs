using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Detection.Baseline;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Detection.Tests;

public class SuspiciousCatalogueTests
{
    private static RuntimeEvent Exec(string exe, string parent, string? args = null) =>
        Some.Event(EventKind.ProcessExec) with { Process = new ProcessInfo(100, 1, 1000, exe, args, parent) };

    private static RuntimeEvent Connect(string exe, string ip, int port) =>
        Some.Connect(ip, port) with { Process = new ProcessInfo(100, 1, 1000, exe, null, "/usr/bin/java") };

    private static RuntimeEvent Call(string name, int uid = 1000) =>
        Some.Event(EventKind.Syscall) with { SyscallName = name, Process = new ProcessInfo(100, 1, uid, "/usr/bin/app", null, null) };

    public static TheoryData<string, RuntimeEvent, string?> Cases => new()
    {
        { "miner binary", Exec("/usr/local/bin/xmrig", "/bin/sh"), "miner" },
        { "stratum url", Exec("/usr/bin/app", "/bin/sh", "app -o stratum+tcp://pool.example:3333"), "miner" },
        { "mining pool name", Some.Dns("pool.supportxmr.com."), "miner" },
        { "ntp pool is no mining pool", Some.Dns("pool.ntp.org."), null },
        { "binary in /tmp", Exec("/tmp/.x/kdev", "/bin/sh"), "exec_from_temp" },
        { "binary from memfd", Exec("/memfd:payload (deleted)", "/usr/bin/python3"), "exec_from_temp" },
        { "shell under nginx", Exec("/bin/sh", "/usr/sbin/nginx"), "shell_under_server" },
        { "netcat under postgres", Exec("/usr/bin/nc", "/usr/lib/postgresql/16/bin/postgres"), "shell_under_server" },
        { "shell under php-fpm pool", Exec("/bin/bash", "/usr/sbin/php-fpm8.2"), "shell_under_server" },
        { "shell under a puma worker (ruby)", Exec("/bin/sh", "/usr/local/bin/ruby"), "shell_under_server" },
        { "exec probe shell under the runtime", Exec("/bin/sh", "/usr/bin/runc"), null },
        { "entrypoint script", Exec("/bin/sh", "/usr/bin/containerd-shim-runc-v2"), null },
        { "shell under an app's own shell", Exec("/bin/sh", "/bin/bash"), null },
        { "shadow file", Some.FileOpen("/etc/shadow"), "credential_file" },
        { "root's ssh key", Some.FileOpen("/root/.ssh/id_rsa"), "credential_file" },
        { "service-account token (every client reads it)", Some.FileOpen("/var/run/secrets/kubernetes.io/serviceaccount/token"), null },
        { "docker socket", Some.FileOpen("/var/run/docker.sock", "O_RDWR"), "runtime_socket" },
        { "kernel module", Call("finit_module", uid: 0), "kernel_module" },
        { "ptrace", Call("ptrace"), "ptrace" },
        { "setns", Call("setns", uid: 0), "namespace_change" },
        { "root dropping privileges", Call("setuid", uid: 0), null },
        { "non-root changing credentials", Call("commit_creds"), "privilege_change" },
        { "ordinary call", Call("read"), null },
        { "bash /dev/tcp to the outside", Connect("/bin/bash", "198.51.100.77", 4444), "shell_connects_out" },
        { "wait-for-it to a Service", Connect("/bin/bash", "10.96.20.10", 5432), null },
        { "busybox wget", Connect("/bin/busybox", "151.101.2.132", 443), null },
        { "a client connecting out", Connect("/usr/bin/node", "151.101.2.132", 443), null },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void TryMatch_Behaviour_MatchesTheDocumentedEntryOrNothing(string what, RuntimeEvent e, string? expected)
    {
        var path = e.FilePath is { } p ? PathNormalizer.Normalize(p) : null;
        var matched = SuspiciousCatalogue.TryMatch(e, path, out var m);
        Assert.True(expected is null ? !matched : matched && m.Id == expected, $"{what}: {(matched ? m.Id : "no match")}");
    }

    [Fact]
    public void Observe_CatalogueBehaviourWhileLearning_RaisedOncePerCooldownAndNeverLearned()
    {
        var o = new DetectionOptions { LearningDuration = TimeSpan.FromMinutes(30), MinLearningEvents = 10, AlertCooldown = TimeSpan.FromMinutes(10), Models = new Models.ModelOptions { ShadowDuration = TimeSpan.Zero } };
        var t0 = Some.Time;
        var b = new WorkloadBaseline(o, t0);
        var shell = Exec("/bin/sh", "/usr/sbin/nginx", "sh -i");
        List<Finding> Observe(RuntimeEvent e, DateTimeOffset at)
        {
            var findings = new List<Finding>();
            b.Observe(e, null, at, findings);
            return findings;
        }

        // No free pass while learning: the reverse shell in minute one is raised, by the catalogue, as high.
        var first = Assert.Single(Observe(shell, t0.AddMinutes(1)));
        Assert.Equal(("shell_under_server", Severity.High, "unexpected_lineage"), (first.Catalogue, first.Severity, first.Category));
        Assert.Equal(BaselinePhase.Learning, b.Phase);
        Assert.Empty(Observe(shell, t0.AddMinutes(2)));   // cooldown
        Assert.Single(Observe(shell, t0.AddMinutes(12))); // and again after it

        // It did not become normal by happening early: once active, the baseline still finds it new.
        for (var i = 0; i < 20; i++)
        {
            Observe(Exec("/usr/sbin/nginx", "/usr/bin/containerd-shim-runc-v2"), t0.AddMinutes(31).AddSeconds(i));
        }

        Assert.Equal(BaselinePhase.Active, b.Phase);
        Assert.Contains(Observe(Exec("/bin/sh", "/usr/sbin/nginx"), t0.AddMinutes(45)), f => f.Severity >= Severity.High);

        // An analyst's acceptance (feedback) makes it learnable: a relearning workload no longer raises it.
        var c = new WorkloadBaseline(o, t0);
        c.Absorb(Feature.Lineage, new FeatureKey("/bin/sh", "/usr/sbin/nginx"));
        var findings = new List<Finding>();
        c.Observe(shell, null, t0.AddMinutes(1), findings);
        Assert.Empty(findings);
    }
}
