using RuntimeSentinel.Core.Alerts;

namespace RuntimeSentinel.Daemon.Cli;

/// <summary>Keeps the latest state of every incident in memory, for the summaries of short-lived verbs (replay).</summary>
internal sealed class CollectingIncidents : IIncidentObserver
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Incident> _incidents = new(StringComparer.Ordinal);

    public IReadOnlyList<Incident> Incidents
    {
        get
        {
            lock (_gate)
            {
                return _incidents.Values.ToList();
            }
        }
    }

    /// <summary>The distinct alerts (findings) folded into the incidents.</summary>
    public IReadOnlyList<Alert> Alerts => Incidents.SelectMany(i => i.Samples).DistinctBy(a => a.Id).ToList();

    public void OnIncident(Incident incident)
    {
        lock (_gate)
        {
            _incidents[incident.Id] = incident;
        }
    }
}
