using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Detection.Tests;

/// <summary>A container that appears in a running workload is judged from its first event, not learned silently.</summary>
public class AddedContainerTests
{
    private const string Pod = "cart-7d9f8b6c5b-x2k4p";

    private readonly FakeTimeProvider _time = new(Some.Time);
    private readonly RecordingAlerts _alerts = new();
    private readonly WorkloadResolver _resolver = new("t");
    private readonly DetectionPipeline _pipeline;

    public AddedContainerTests()
    {
        // Several shards: the pod's containers must still meet on one (routing by owner).
        var options = Options.Create(new DetectionOptions { Shards = 4, LearningDuration = TimeSpan.FromMinutes(1), MinLearningEvents = 5, Models = new Models.ModelOptions { Enabled = false } });
        _pipeline = new DetectionPipeline(options, _alerts, new DetectionMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry())), _time, NullLogger<DetectionPipeline>.Instance);
        _pipeline.Start();
    }

    private static WorkloadRef Container(string name, string pod = Pod, string image = "ghcr.io/acme/cart:1.4") =>
        Some.Workload(pod: pod, container: name) with { ContainerId = "containerd://" + name + pod, Image = image };

    private async Task SendAsync(RuntimeEvent e) =>
        await _pipeline.EnqueueAsync(new IngestItem(e, _resolver.Resolve(e.Workload), null, 0, Stopwatch.GetTimestamp()), default);

    /// <summary>The app container learns its one program and turns active.</summary>
    private async Task ActiveAppAsync()
    {
        for (var i = 0; i < 6; i++)
        {
            await SendAsync(Some.Exec("/usr/bin/node", "/usr/bin/tini", Container("cart")));
        }

        _time.Advance(TimeSpan.FromMinutes(2));
        await SendAsync(Some.Exec("/usr/bin/node", "/usr/bin/tini", Container("cart")));
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
