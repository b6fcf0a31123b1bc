using RuntimeSentinel.Core.Alerts;

namespace RuntimeSentinel.Daemon.Demo;

/// <summary>
/// An alert sink that scores the demo against its ground truth: which attacks were caught (by the scenario label
/// the evidence carries) and how many alerts fired on normal behaviour after learning.
/// </summary>
internal sealed class DemoTally : IAlertSink
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, int> _byCategory = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _byScenario = new(StringComparer.Ordinal);
    private int _normalActive;
    private int _total;

    public string Name => "demo-tally";

    public ValueTask WriteAsync(IReadOnlyList<Alert> batch, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            foreach (var a in batch)
            {
                _total++;
                _byCategory[a.Category] = _byCategory.GetValueOrDefault(a.Category) + 1;
                var scenario = a.Evidence.Count > 0 ? a.Evidence[0].Labels["scenario"] ?? "unlabelled" : "unlabelled";
                _byScenario[scenario] = _byScenario.GetValueOrDefault(scenario) + 1;
                if (scenario == "normal" && a.Baseline.Phase == BaselinePhase.Active)
                {
                    _normalActive++;
                }
            }
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask FlushAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public int Total
    {
        get
        {
            lock (_gate)
            {
                return _total;
            }
        }
    }

    public int NormalAfterLearning
    {
        get
        {
            lock (_gate)
            {
                return _normalActive;
            }
        }
    }

    public IReadOnlyDictionary<string, int> ByCategory
    {
        get
        {
            lock (_gate)
            {
                return new SortedDictionary<string, int>(_byCategory, StringComparer.Ordinal);
            }
        }
    }

    public IReadOnlyDictionary<string, int> ByScenario
    {
        get
        {
            lock (_gate)
            {
                return new SortedDictionary<string, int>(_byScenario, StringComparer.Ordinal);
            }
        }
    }
}
