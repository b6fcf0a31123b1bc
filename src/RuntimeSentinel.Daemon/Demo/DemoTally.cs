using RuntimeSentinel.Core.Alerts;

namespace RuntimeSentinel.Daemon.Demo;

/// <summary>
/// Scores the demo against its ground truth from the incidents it emits: which attacks were caught (by the scenario
/// label their evidence carries), how many incidents each produced, and how many alerts fired on normal behaviour
/// after learning.
/// </summary>
internal sealed class DemoTally : IIncidentObserver
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Incident> _incidents = new(StringComparer.Ordinal);

    public void OnIncident(Incident incident)
    {
        lock (_gate)
        {
            _incidents[incident.Id] = incident;
        }
    }

    private List<Incident> All
    {
        get
        {
            lock (_gate)
            {
                return _incidents.Values.Where(i => i.Kind == "detection").ToList();
            }
        }
    }

    public int Incidents => All.Count;

    public long Alerts => All.Sum(i => i.Count);

    public long NormalAfterLearning => All.Where(i => Scenario(i) == "normal" && i.Primary.Baseline.Phase is BaselinePhase.Active or BaselinePhase.Shadow).Sum(i => i.Count);

    public IReadOnlyDictionary<string, int> ByCategory =>
        new SortedDictionary<string, int>(All.GroupBy(i => i.Category).ToDictionary(g => g.Key, g => g.Count()), StringComparer.Ordinal);

    /// <summary>Per scenario label: (incidents, alerts).</summary>
    /// <remarks>An incident counts for every scenario among its alerts' evidence (a model alert can join another incident).</remarks>
    public IReadOnlyDictionary<string, (int Incidents, long Alerts)> ByScenario =>
        new SortedDictionary<string, (int, long)>(
            All.SelectMany(i => i.Samples.SelectMany(a => a.Evidence.Select(e => e.Labels["scenario"] ?? "unlabelled")).Append(Scenario(i)).Distinct().Select(s => (Scenario: s, Incident: i)))
                .GroupBy(x => x.Scenario)
                .ToDictionary(g => g.Key, g => (g.Count(), (long)g.Sum(x => x.Incident.Samples.Count(a => a.Evidence.Any(e => (e.Labels["scenario"] ?? "unlabelled") == g.Key))))),
            StringComparer.Ordinal);

    private static string Scenario(Incident i) => i.Primary.Evidence.Count > 0 ? i.Primary.Evidence[0].Labels["scenario"] ?? "unlabelled" : "unlabelled";
}
