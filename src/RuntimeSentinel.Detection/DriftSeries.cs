using RuntimeSentinel.Detection.Models;

namespace RuntimeSentinel.Detection;

/// <summary>
/// The drift series refreshed from workload snapshots: how many workloads have a retrain suggested, and the drift of
/// the K most drifting ones (<see cref="DriftOptions.MetricTopWorkloads"/>) as <c>sentinel_workload_drift_top</c>. A
/// workload that leaves the top has its series removed at once, so at most K series exist however many workloads
/// drift; the distribution over all workloads is the <c>sentinel_workload_drift_psi</c> histogram, which has no
/// workload label.
/// </summary>
internal sealed class DriftSeries(DetectionMetrics metrics, DriftOptions options)
{
    private readonly Lock _lock = new();
    private HashSet<(string Cluster, string Namespace, string Workload, string Container)> _exported = [];

    /// <summary>Label sets exported now (for tests).</summary>
    public int Exported
    {
        get
        {
            lock (_lock)
            {
                return _exported.Count;
            }
        }
    }

    public void Publish(IReadOnlyList<WorkloadSnapshot> all)
    {
        // Refreshes may overlap (a timer tick while a slow snapshot is still being published): one at a time.
        lock (_lock)
        {
            metrics.RetrainSuggested.Set(all.Count(s => s.Drift?.RetrainSuggested == true));
            var top = all
                .Where(s => s.Drift?.Psi is not null)
                .OrderByDescending(s => s.Drift!.Psi!.Value)
                .ThenBy(s => s.Key.Value, StringComparer.Ordinal)
                .Take(options.MetricTopWorkloads);
            var now = new HashSet<(string, string, string, string)>();
            foreach (var s in top)
            {
                var k = s.Key;
                var labels = (k.Cluster, k.Namespace, k.OwnerKind + "/" + k.OwnerName, k.Container);
                metrics.DriftTop.WithLabels(labels.Cluster, labels.Namespace, labels.Item3, labels.Container).Set(s.Drift!.Psi!.Value);
                now.Add(labels);
            }

            foreach (var (cluster, ns, workload, container) in _exported.Where(l => !now.Contains(l)))
            {
                metrics.DriftTop.RemoveLabelled(cluster, ns, workload, container);
            }

            _exported = now;
        }
    }
}
