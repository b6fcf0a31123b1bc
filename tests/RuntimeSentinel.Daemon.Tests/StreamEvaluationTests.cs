using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Daemon.Cli;

namespace RuntimeSentinel.Daemon.Tests;

public class StreamEvaluationTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 30, 1, 0, 0, TimeSpan.Zero);

    private static Incident Incident(string workload, int minute, Severity severity = Severity.High, string category = "unexpected_process")
    {
        var parts = workload.Split('/');
        var key = new WorkloadKey("c", parts[0], parts[1], parts[2], "main");
        var alert = new Alert
        {
            Id = Guid.NewGuid().ToString(),
            Time = T0.AddMinutes(minute),
            Workload = key,
            Identity = default,
            Detector = "baseline",
            Category = category,
            Severity = severity,
            Score = 2,
            Threshold = 1,
            Summary = "s",
            Explanation = new Explanation("exec", "x", 0, 1, "r"),
            Baseline = default,
            Evidence = [],
            Fingerprint = Guid.NewGuid().ToString(),
        };
        return new Incident(alert, alert.Time) { Version = 1, Status = IncidentStatus.Firing };
    }

    [Fact]
    public void Judge_IncidentsAgainstLabels_CountsCaughtAndFalseByPhaseAndChurn()
    {
        List<StreamLabel> labels =
        [
            new("shell", "attack-new", "shop/Deployment/api", T0.AddMinutes(62), T0.AddMinutes(63), ""),
            new("sweep", "attack-stealthy", "shop/Deployment/worker", T0.AddMinutes(64), T0.AddMinutes(65), ""),
            new("rollout", "benign-churn", "shop/Deployment/frontend", T0.AddMinutes(40), T0.AddMinutes(45), ""),
        ];
        List<Incident> incidents =
        [
            Incident("shop/Deployment/api", 62),               // the shell: caught
            Incident("shop/Deployment/frontend", 41),          // false, on churn, before the attacks
            Incident("shop/Deployment/api", 50, Severity.Medium), // false, outside churn, before the attacks
            Incident("shop/Deployment/worker", 70),            // false (the sweep was at 64), during the attacks
            Incident("shop/Deployment/api", 20),               // during learning: not counted
        ];
        var history = incidents.ToDictionary(i => i.Id, i => new List<Incident> { i });
        var r = StreamEvaluation.Judge(incidents, history, labels, 3, T0, T0.AddMinutes(30), T0.AddMinutes(60), T0.AddMinutes(90), 10, 0, 0, new Dictionary<string, long>(), [0, 0, 2, 0, 0], 1);

        Assert.Equal([true, false], r.Attacks.Select(a => a.Caught));
        Assert.Equal(0, r.Attacks[0].SecondsToFirstIncident);
        Assert.Equal(3, r.FalseIncidents.Count);
        Assert.Equal((2, 1), (r.FalseBeforeAttacks, r.FalseDuringAttacks));
        Assert.Equal((1, 2), (r.FalseOnChurn, r.FalseOutsideChurn));
        Assert.Equal(0, r.HeldHighOrCritical);
        Assert.Equal(1.0, r.FalsePerWorkloadHour, 3); // 3 false incidents over 3 workloads for 1 hour after learning
    }

    [Fact]
    public void Judge_UpdateAfterAGap_CreditsOnlyTheAttackItsNewAlertsFallIn()
    {
        // One incident: a shell at 62 min, then (emitted as an update) one more alert at 75 min. An attack at 68 min on the
        // same workload happened between them; the update's new alert is not about it.
        List<StreamLabel> labels =
        [
            new("shell", "attack-new", "shop/Deployment/api", T0.AddMinutes(62), T0.AddMinutes(63), ""),
            new("quiet", "attack-stealthy", "shop/Deployment/api", T0.AddMinutes(68), T0.AddMinutes(69), ""),
            new("late", "attack-stealthy", "shop/Deployment/api", T0.AddMinutes(75), T0.AddMinutes(76), ""),
        ];
        var live = Incident("shop/Deployment/api", 62);
        live.Pending = 0;
        var first = live.Snapshot();
        var later = new Alert
        {
            Id = Guid.NewGuid().ToString(),
            Time = T0.AddMinutes(75),
            Workload = live.Workload,
            Identity = default,
            Detector = "baseline",
            Category = "unexpected_process",
            Severity = Severity.High,
            Score = 2,
            Threshold = 1,
            Summary = "s",
            Explanation = new Explanation("exec", "x", 0, 1, "r"),
            Baseline = default,
            Evidence = [],
            Fingerprint = live.Fingerprint,
        };
        live.Add(later);
        live.Version = 2;
        var update = live.Snapshot();
        var history = new Dictionary<string, List<Incident>> { [live.Id] = [first, update] };
        var r = StreamEvaluation.Judge([update], history, labels, 1, T0, T0.AddMinutes(30), T0.AddMinutes(60), T0.AddMinutes(90), 10, 0, 0, new Dictionary<string, long>(), [0, 0, 0, 0, 0], 1);

        Assert.Equal([true, false, true], r.Attacks.Select(a => a.Caught));
        Assert.Equal(0, r.Attacks[2].SecondsToFirstIncident);
        Assert.Empty(r.FalseIncidents);
    }

    [Fact]
    public void Judge_IncidentOnAWorkloadTheAttackActsOn_AnswersIt()
    {
        // A bulk copy by the backup job, seen from the database it reads: the database's incident answers the attack
        // and is no false incident; an incident on an uninvolved workload at the same time still is.
        List<StreamLabel> labels =
        [
            new("bulk-copy", "attack-stealthy", "data/CronJob/backup", T0.AddMinutes(80), T0.AddMinutes(82), "") { Related = ["data/StatefulSet/postgres"] },
        ];
        List<Incident> incidents = [Incident("data/StatefulSet/postgres", 80), Incident("shop/Deployment/api", 80)];
        var history = incidents.ToDictionary(i => i.Id, i => new List<Incident> { i });
        var r = StreamEvaluation.Judge(incidents, history, labels, 3, T0, T0.AddMinutes(30), T0.AddMinutes(60), T0.AddMinutes(90), 10, 0, 0, new Dictionary<string, long>(), [0, 0, 0, 0, 0], 1);

        Assert.True(r.Attacks.Single().Caught);
        Assert.Equal("shop/Deployment/api", Assert.Single(r.FalseIncidents).Workload);
    }
}
