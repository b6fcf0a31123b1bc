using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Detection.Models;

/// <summary>A scored behaviour window: when it ended and its largest score/threshold ratio (above 1 would alert).</summary>
public readonly record struct ScoredWindow(DateTimeOffset End, double MaxRatio);

/// <summary>
/// The model side of one workload, owned by its detection shard. It puts together the parts that each do one thing:
/// <see cref="WindowSchedule"/> and <see cref="BehaviourWindow"/> cut events into behaviour windows,
/// <see cref="TrainingData"/> collects while the workload learns, the detectors in service score afterwards
/// (<see cref="IWindowDetector"/>s on each closed window, the <see cref="IStreamDetector"/> on each process's syscalls),
/// <see cref="ShadowScores"/> records them while a new model is in shadow (not alerting) and
/// <see cref="ThresholdsInForce"/> applies analysts' verdicts. Every structure is bounded and charged to the node's budget.
/// </summary>
public sealed partial class ModelRuntime
{
    /// <summary>Spike detectors' histories (6 × 408 doubles) and the open window, charged with each model in service.</summary>
    public const long LiveBaseBytes = 32 * 1024;

    private readonly string _workload;
    private readonly ModelOptions _o;
    private readonly double _target;
    private readonly WindowSchedule _schedule = new();
    private readonly BehaviourWindow _window = new();
    private readonly float[] _vector = new float[BehaviourSchema.Features.Length];
    private readonly TrainingData _training;

    // Live scoring state.
    private readonly DetectorRegistry _registry;
    private IWindowDetector[] _detectors = [];
    private IStreamDetector[] _streams = [];
    private ProcessKeys _processes;
    private readonly ShadowScores _shadow = new();
    private readonly Func<long, bool> _chargeShadow; // one delegate, not one per recorded score
    private double _lastCpu, _lastMemory;

    // Bytes reserved from the node's budget for the model in service (the training data and the process streams
    // hold their own reservations).
    private readonly ModelMemoryBudget _budget;
    private readonly WorkloadDrift _drift;
    private IReadOnlySet<string> _off = new HashSet<string>();
    private long _modelReserved;

    public ModelRuntime(string workload, ModelOptions options, double targetAlertsPerDay, ModelMemoryBudget? budget = null)
        : this(workload, options, targetAlertsPerDay, budget, DetectorRegistry.Default)
    {
    }

    internal ModelRuntime(string workload, ModelOptions options, double targetAlertsPerDay, ModelMemoryBudget? budget, DetectorRegistry registry)
    {
        _registry = registry;
        _workload = workload;
        _o = options;
        _target = targetAlertsPerDay;
        _budget = budget ?? ModelMemoryBudget.Unlimited();
        _training = new TrainingData(options, _budget);
        _drift = new WorkloadDrift(options, _budget);
        _thresholds = new ThresholdsInForce(options.MaxThresholdRaise);
        _chargeShadow = _training.Charge;
    }

    /// <summary>A detector's threshold after an analyst's verdict: this far above the score they marked as fine.</summary>
    public const double FeedbackMargin = ThresholdsInForce.FeedbackMargin;

    private readonly ThresholdsInForce _thresholds;

    /// <summary>An analyst marked a model alert as a false positive (<see cref="ThresholdsInForce.Raise"/>).</summary>
    public bool RaiseThreshold(string detector, double score) => _thresholds.Raise(detector, score);

    /// <summary>The threshold in force: the model's calibrated one, or an analyst's raised one if higher.</summary>
    public double ThresholdOf(string detector) => _thresholds.Of(detector, Model);

    /// <summary>What the memory budget cut from the last model put in service (null: it fits whole).</summary>
    public MemoryRefusal? LastFit { get; private set; }

    /// <summary>Bytes this workload holds reserved from the budget.</summary>
    public long ReservedBytes => _training.ReservedBytes + _modelReserved + StreamBytes + _drift.ReservedBytes;

    public WorkloadModel? Model { get; private set; }

    /// <summary>Window length: the model's own (its features were computed over it), else the configured one.</summary>
    public TimeSpan Window => Model is { } m && m.Card.WindowSeconds > 0 ? TimeSpan.FromSeconds(m.Card.WindowSeconds) : _o.Window;

    /// <summary>The model in service was promoted from the model folder (not trained here).</summary>
    public bool Promoted { get; private set; }

    public long WindowsScored { get; private set; }

    /// <summary>
    /// The last scored window: its end and its largest score/threshold ratio over every detector, including the
    /// sequence windows of its calls (above 1 would alert). An event closes at most one window, so a reader comparing
    /// <see cref="WindowsScored"/> before and after each event sees every one.
    /// </summary>
    public ScoredWindow LastScored { get; private set; }

    private double _maxSequenceRatio;

    /// <summary>Behaviour windows above threshold only because activity was missing (not alerted).</summary>
    public long DeficitWindows { get; private set; }

    /// <summary>Scores each detector would have alerted on while in shadow (not alerted).</summary>
    public long ShadowExceedances { get; private set; }

    /// <summary>Observes one event. <paramref name="known"/>: the baseline already knew its main item (read before it learns the event).</summary>
    public void Observe(in RuntimeEvent e, bool known, BaselinePhase phase, DateTimeOffset now, List<Finding> findings)
    {
        if (!_schedule.Started)
        {
            _training.Restart(now);
        }

        if (_schedule.Advance(now, Window) is { } end)
        {
            CloseWindow(end, phase, findings);
        }

        _window.Add(e, known);
        if (phase is BaselinePhase.Learning or BaselinePhase.Stale)
        {
            _training.CountEvent();
        }

        if (e.Kind == EventKind.Syscall && e.SyscallName is { } name)
        {
            OnSyscall(e, name, phase, findings);
        }
        else if (e.Kind == EventKind.ProcessExit && _streams.Length > 0)
        {
            var process = _processes.Of(e);
            foreach (var d in _streams)
            {
                d.End(process);
            }
        }
    }

    /// <summary>
    /// What else is unusual right now: the current window's features furthest above the model's training mean
    /// (at least 2 standard deviations), for the context of an alert raised by another detector. Empty without a behaviour model.
    /// </summary>
    public IReadOnlyList<FeatureContribution> Context(int top)
    {
        if (Model?.Behaviour is not { } pca)
        {
            return [];
        }

        return _window.Context(pca.Scaler, _lastCpu, _lastMemory, top);
    }

    /// <summary>Forgets models and training data (the workload relearns after an image change).</summary>
    public void Reset()
    {
        Generation++;
        Model = null;
        Promoted = false;
        _shadow.Clear();
        _detectors = [];
        Release();
        Serve(null);
        _training.Restart(_schedule.Start);
    }

    /// <summary>Gives back every byte reserved from the budget (the workload is evicted, or relearns from nothing).</summary>
    public void Release()
    {
        _training.Discard();
        foreach (var d in _streams)
        {
            d.Clear();
        }

        _budget.Release(_modelReserved);
        _modelReserved = 0;
        _drift.Reset(null);
    }

    /// <summary>
    /// Model detector kinds (<c>behaviour_pca</c>, <c>spike</c>, <c>onnx</c>, <c>sequence</c>) this workload does not
    /// serve, from <see cref="DetectionOptions.DisabledDetectors"/> and its <see cref="DetectionOptions.DetectorClasses"/>;
    /// set before a model goes in service. Their thresholds stay in the card: another class of workload may serve them.
    /// </summary>
    internal void SelectFor(IReadOnlySet<string> off) => _off = off;

    /// <summary>The model detectors in service, by name (the window detectors, then the stream detectors).</summary>
    internal IEnumerable<string> Serving => _detectors.Select(d => d.Name).Concat(_streams.Select(d => d.Name));

    /// <summary>What the stream detectors' streams hold (the model's own tables are <see cref="_modelReserved"/>).</summary>
    private long StreamBytes
    {
        get
        {
            long bytes = 0;
            foreach (var d in _streams)
            {
                bytes += d.MemoryBytes;
            }

            return bytes;
        }
    }

    /// <summary>The workload's drift as of its latest evaluation against the model in service, or why it is unknown.</summary>
    public DriftSummary Drift => _drift.Summary;

    /// <summary>Drift evaluations so far: a reader comparing it before and after each event sees every one.</summary>
    public long DriftEvaluations => _drift.Evaluations;
}
