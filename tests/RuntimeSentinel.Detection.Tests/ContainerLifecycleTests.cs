using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Detection.Tests;

/// <summary>
/// Containers that start after learning: a restart or reschedule of a known image learns its start-up (under the
/// catalogue), a container that appears in a running pod is judged from its first event.
/// </summary>
public class ContainerLifecycleTests
{
    private const string Pod = "cart-7d9f8b6c5b-x2k4p";

    private readonly FakeTimeProvider _time = new(Some.Time);
    private DateTimeOffset _at = Some.Time;
    private readonly RecordingAlerts _alerts = new();
    private readonly WorkloadResolver _resolver = new("t");
    private readonly DetectionPipeline _pipeline;

    public ContainerLifecycleTests()
    {
        // Several shards: the pod's containers must still meet on one (routing by owner).
        // The event clock: the events' own times decide when learning ends, whenever the shard thread gets to them.
        var options = Options.Create(new DetectionOptions { Shards = 4, Clock = "event", LearningDuration = TimeSpan.FromMinutes(1), MinLearningEvents = 5, Models = new Models.ModelOptions { Enabled = false } });
        _pipeline = new DetectionPipeline(options, _alerts, new DetectionMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry())), _time, NullLogger<DetectionPipeline>.Instance);
        _pipeline.Start();
    }

    private static WorkloadRef Container(string name, string pod = Pod, string image = "ghcr.io/acme/cart:1.4", string? digest = null) =>
        Some.Workload(pod: pod, container: name) with { ContainerId = "containerd://" + name + pod, Image = image, ImageDigest = digest ?? Some.Workload().ImageDigest };

    private async Task SendAsync(RuntimeEvent e)
    {
        _at += TimeSpan.FromSeconds(1);
        await _pipeline.EnqueueAsync(new IngestItem(e with { Timestamp = _at }, _resolver.Resolve(e.Workload), null, 0, Stopwatch.GetTimestamp()), default);
    }

    /// <summary>The app container learns its one program and turns active.</summary>
    private async Task ActiveAppAsync()
    {
        for (var i = 0; i < 6; i++)
        {
            await SendAsync(Some.Exec("/usr/bin/node", "/usr/bin/tini", Container("cart")));
        }

        _at += TimeSpan.FromMinutes(2);
        await SendAsync(Some.Exec("/usr/bin/node", "/usr/bin/tini", Container("cart")));
    }

    [Fact]
    public async Task Observe_RescheduledContainerOfAKnownImage_StartUpLearnedCatalogueStillAlerts()
    {
        await ActiveAppAsync();

        // The pod is rescheduled: a new container of the same image runs its entrypoint (never seen: the daemon started
        // into a running cluster), which templates its configuration and execs the server.
        var moved = Container("cart", pod: "cart-7d9f8b6c5b-m2q7w");
        await SendAsync(Some.Exec("/docker-entrypoint.sh", "/usr/bin/containerd-shim-runc-v2", moved));
        await SendAsync(Some.Exec("/usr/bin/envsubst", "/docker-entrypoint.sh", moved));
        await SendAsync(Some.FileOpen("/etc/app/conf.d/default.conf", "O_WRONLY|O_CREAT|O_TRUNC", moved));
        await SendAsync(Some.Exec("/usr/bin/node", "/docker-entrypoint.sh", moved));

        // Still starting: a miner is the catalogue's, and alerts.
        await SendAsync(Some.Exec("/tmp/.x/xmrig", "/bin/sh", moved));

        // Minutes later the start-up is over: a new program is news again.
        _at += TimeSpan.FromMinutes(3); // past the warm-up, within the event clock's trusted lead
        await SendAsync(Some.Exec("/usr/bin/node", "/usr/bin/tini", moved));
        await SendAsync(Some.Exec("/usr/bin/python3", "/usr/bin/node", moved));
        await _pipeline.CompleteAsync();

        Assert.DoesNotContain(_alerts.All, a => a.Explanation.Observed.Contains("docker-entrypoint", StringComparison.Ordinal) || a.Explanation.Observed.Contains("envsubst", StringComparison.Ordinal) || a.Category == "unexpected_file");
        Assert.Contains(_alerts.All, a => a.Explanation.Observed.StartsWith("/tmp/.x/xmrig", StringComparison.Ordinal) && a.Severity == Core.Alerts.Severity.Critical);
        Assert.Contains(_alerts.All, a => a.Explanation.Observed.StartsWith("/usr/bin/python3", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Observe_EphemeralContainerInRunningPod_RaisedAtItsFirstEventAndItsShellIsTold()
    {
        await ActiveAppAsync();

        // kubectl debug -it cart-... --image=busybox: a new container name in the running pod, a shell under the runtime.
        var debug = Container("debugger-7xk2p", image: "docker.io/library/busybox:1.36");
        await SendAsync(Some.Exec("/bin/sh", "/usr/bin/runc", debug));
        await SendAsync(Some.Exec("/usr/bin/wget", "/bin/sh", debug));
        await _pipeline.CompleteAsync();

        var added = Assert.Single(_alerts.All, a => a.Category == "container_added");
        Assert.Equal(Core.Alerts.Severity.High, added.Severity);
        Assert.Contains("ephemeral container", added.Summary, StringComparison.Ordinal);
        Assert.Contains("debugger-7xk2p", added.Summary, StringComparison.Ordinal);
        Assert.Contains("busybox", added.Summary, StringComparison.Ordinal);
        Assert.Equal("T1609", added.Mitre?.TechniqueId);
        Assert.Contains(_alerts.All, a => a.Category == "unexpected_process" && a.Explanation.Observed.StartsWith("/bin/sh", StringComparison.Ordinal) && a.Severity == Core.Alerts.Severity.High);
        Assert.Contains(_alerts.All, a => a.Category == "unexpected_process" && a.Explanation.Observed.StartsWith("/usr/bin/wget", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Observe_NewContainerNameInANewPod_LearnsWithoutAnAlert()
    {
        await ActiveAppAsync();

        // A rollout or reschedule brings a container the daemon never saw start (an init container, a sidecar): a new
        // pod, so not an ephemeral container; it learns under the catalogue like any new workload.
        var init = Container("wait-for-db", pod: "cart-7d9f8b6c5b-q8v3n", image: "docker.io/library/busybox:1.36");
        await SendAsync(Some.Exec("/bin/sh", "/usr/bin/runc", init));
        await SendAsync(Some.Exec("/usr/bin/nslookup", "/bin/sh", init));
        await _pipeline.CompleteAsync();

        Assert.Empty(_alerts.All);
    }

    [Fact]
    public async Task Observe_SecondContainerOfAPodBeforeAnyIsActive_IsAnOrdinaryWorkload()
    {
        // Both containers of the pod learn from the start: nothing was active to be added to.
        await SendAsync(Some.Exec("/usr/bin/node", "/usr/bin/tini", Container("cart")));
        await SendAsync(Some.Exec("/usr/local/bin/envoy", "/usr/bin/runc", Container("istio-proxy", image: "docker.io/istio/proxyv2:1.24.0")));
        await _pipeline.CompleteAsync();

        Assert.Empty(_alerts.All);
    }
}
