using RuntimeSentinel.Detection.Models;
using RuntimeSentinel.Lab.Evaluation;

namespace RuntimeSentinel.Daemon.Cli;

/// <summary>One alert a version would have raised, and what it answers: an attack of the workload, labelled churn, or nothing.</summary>
internal sealed record BacktestAlert(DateTimeOffset Time, string Detector, string Category, string Severity, double Score, double Threshold, string Reason, string? Attack, string? Churn)
{
    public bool False => Attack is null;
}

/// <summary>A labelled attack of the workload as one version met it.</summary>
/// <param name="InInput">The attack's window lies in the replayed input's time span; attacks outside it are neither caught nor missed.</param>
internal sealed record BacktestAttack(string Scenario, string Kind, DateTimeOffset Start, DateTimeOffset End, bool InInput, bool Caught, double? SecondsToFirstAlert, int Alerts);

/// <summary>What one version did on the replayed input.</summary>
internal sealed record BacktestSide(string Role, StoredModel Stored, IReadOnlyList<BacktestAlert> Alerts, IReadOnlyList<BacktestAttack> Attacks, IReadOnlyList<LaneWindow> Windows, IReadOnlyList<ScoredSample> Labelled)
{
    public string Version => Stored.Version;

    public int Caught => Attacks.Count(a => a.InInput && a.Caught);

    public int Missed => Attacks.Count(a => a.InInput && !a.Caught);

    public int FalseAlerts => Alerts.Count(a => a.False);

    public int FalseOnChurn => Alerts.Count(a => a.False && a.Churn is not null);

    /// <summary>Window ROC AUC (score/threshold against window labels); NaN without both kinds of window.</summary>
    public double WindowAuc => ScoreCurves.Auc(ScoreCurves.Roc(Labelled));
}

/// <summary>
/// The rules that turn a version's alerts and windows into caught, missed and false, the same rules
/// <c>evaluate stream</c> attributes incidents by: an alert answers an attack when the attack concerns the workload
/// (its own or one it acts on, <c>related_workloads</c>) and the alert falls between 5 s before the attack's start and
/// <see cref="StreamEvaluation.Grace"/> after its end; an alert that answers no attack is false (and "on churn" when
/// it falls in labelled benign churn of the workload or the 10 minutes after it). A window is an attack window when
/// it overlaps an attack of the workload (as <c>features export --labels</c> labels windows).
/// </summary>
internal static class BacktestJudge
{
    private static readonly TimeSpan Lead = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan ChurnTail = TimeSpan.FromMinutes(10);

    public static BacktestSide Judge(string role, StoredModel stored, IEnumerable<LaneAlert> alerts, IEnumerable<LaneWindow> windows, string shortName, IReadOnlyList<StreamLabel> labels, DateTimeOffset inputFrom, DateTimeOffset inputTo)
    {
        var attacks = labels.Where(l => l.IsAttack && l.Concerns(shortName)).OrderBy(l => l.Start).ToList();
        var churn = labels.Where(l => !l.IsAttack && l.Concerns(shortName)).ToList();
        var judged = alerts.OrderBy(a => a.Time).Select(a =>
        {
            var f = a.Finding;
            var attack = attacks.FirstOrDefault(l => Answers(a.Time, l));
            var onChurn = attack is null ? churn.FirstOrDefault(l => a.Time >= l.Start && a.Time <= l.End + ChurnTail) : null;
            return new BacktestAlert(a.Time, f.Detector, f.Category, f.Severity.ToString().ToLowerInvariant(), f.Score, f.Threshold, f.Reason, attack?.Scenario, onChurn?.Scenario);
        }).ToList();
        var results = attacks.Select(l =>
        {
            var mine = judged.Where(a => Answers(a.Time, l)).ToList();
            var inInput = l.End >= inputFrom && l.Start <= inputTo;
            double? latency = mine.Count == 0 ? null : Math.Max(0, (mine[0].Time - l.Start).TotalSeconds);
            return new BacktestAttack(l.Scenario, l.Kind, l.Start, l.End, inInput, mine.Count > 0, latency, mine.Count);
        }).ToList();
        var windowList = windows.OrderBy(w => w.End).ToList();
        var labelled = windowList.Select(w => new ScoredSample(w.Ratio, IsAttackWindow(labels, shortName, w.Start, w.End))).ToList();
        return new BacktestSide(role, stored, judged, results, windowList, labelled);
    }

    /// <summary>An attack of the workload overlapping [start, end) makes the window an attack window.</summary>
    public static bool IsAttackWindow(IReadOnlyList<StreamLabel> labels, string shortName, DateTimeOffset start, DateTimeOffset end) =>
        labels.Any(l => l.IsAttack && l.Concerns(shortName) && l.Start < end && l.End >= start);

    private static bool Answers(DateTimeOffset time, StreamLabel l) => time >= l.Start - Lead && time <= l.End + StreamEvaluation.Grace;
}
