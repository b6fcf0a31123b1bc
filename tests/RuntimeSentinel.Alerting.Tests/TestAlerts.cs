using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Alerting.Tests;

internal static class TestAlerts
{
    public static Alert Make(RuntimeEvent evidence, string category = "unexpected_process", Severity severity = Severity.High, string? observed = null, DateTimeOffset? time = null)
    {
        var key = WorkloadResolver.Compute(evidence.Workload, "prod");
        var item = observed ?? evidence.Process.Exe ?? evidence.DnsName ?? "x";
        return new Alert
        {
            Id = Guid.NewGuid().ToString(),
            Time = time ?? Some.Time,
            Workload = key,
            Identity = evidence.Workload,
            Node = evidence.Node,
            Detector = "baseline",
            Category = category,
            Severity = severity,
            Score = 12.5,
            Threshold = 11.5,
            Summary = $"{key.ShortName}: {category} {item}",
            Explanation = new Explanation("exec", item, 0, 3000, "test", item),
            Baseline = new BaselineState(BaselinePhase.Active, TimeSpan.FromMinutes(31), 3000, Some.Time.AddMinutes(-1)),
            Evidence = [evidence],
            Fingerprint = Detection.AlertFactory.Fingerprint(key, "baseline", category, "exec", item),
            Mitre = MitreMapping.For(category, item),
        };
    }

    public static Alert Exec(string exe, int pid, int ppid = 1, string pod = "cart-7d9f8b6c5b-x2k4p", string scenario = "attack:x") =>
        Make(Some.Exec(exe, "/usr/bin/node", Some.Workload(pod: pod), scenario) with { Process = new ProcessInfo(pid, ppid, 0, exe, null, "/usr/bin/node") });
}
