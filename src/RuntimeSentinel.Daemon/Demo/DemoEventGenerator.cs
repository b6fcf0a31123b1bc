using Microsoft.Extensions.Options;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Detection;
using RuntimeSentinel.Generators.Demo;
using RuntimeSentinel.Kafka;

namespace RuntimeSentinel.Daemon.Demo;

internal sealed class DemoOptions
{
    public const string SectionName = "Demo";

    public int Seed { get; set; } = 7;

    /// <summary>Pause after every demo workload turned active before the first attack (event time).</summary>
    public TimeSpan AttackDelay { get; set; } = TimeSpan.FromSeconds(4);

    public TimeSpan AttackSpacing { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>A malformed message is sent this often (event time), to show dead-lettering under load.</summary>
    public TimeSpan MalformedEvery { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Normal behaviour after the last churn, so the last incidents close on the event clock before the end.</summary>
    public TimeSpan Tail { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Event seconds per wall-clock second: 1 plays the scenario at its own pace, 10 ten times faster.</summary>
    public double Speed { get; set; } = 1;

    /// <summary>Stop the process once the scenario is complete and detection has caught up (scripts, CI).</summary>
    public bool ExitWhenDone { get; set; }
}

/// <summary>
/// Plays the demo's scenario into the (embedded) Kafka events topic as a sensor would: normal behaviour in 100 ms
/// ticks, then, once every demo workload's baseline is active, benign churn and the attacks one by one, then a tail
/// of normal behaviour, and stops. Registered after ingestion so the host stops it first.
/// </summary>
/// <remarks>
/// The scenario runs on its own clock, not the wall clock: tick k is stamped start + k × 100 ms, and the demo's
/// detection and alerting follow event time. The wall clock only paces the ticks (<see cref="DemoOptions.Speed"/>).
/// Where the scenario depends on what detection has done (learning over, the scenario complete), the generator first
/// waits for detection to catch up with every event it sent. So a busy machine plays the same events, in the same
/// windows, against the same models, and sees the same incidents as an idle one, only later.
/// </remarks>
internal sealed partial class DemoEventGenerator(
    KafkaProducer producer,
    IOptions<KafkaOptions> kafka,
    IOptions<DemoOptions> options,
    DetectionPipeline pipeline,
    DetectionMetrics detectionMetrics,
    IHostApplicationLifetime lifetime,
    TimeProvider time,
    ILogger<DemoEventGenerator> logger) : BackgroundService
{
    /// <summary>How long the generator waits for detection to catch up before it goes on regardless (and says so).</summary>
    private static readonly TimeSpan CatchUpCeiling = TimeSpan.FromMinutes(2);

    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(100);

    private readonly DemoScenario _scenario = new(options.Value.Seed);
    private readonly string _topic = kafka.Value.Topics[0];
    private readonly TaskCompletionSource _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public long Produced { get; private set; }

    public long MalformedSent { get; private set; }

    public IReadOnlyList<string> AttacksInjected => _injected;

    public DateTimeOffset? LearningEndedAt { get; private set; }

    /// <summary>Completes when the scenario has been played and detection processed all of it.</summary>
    public Task Completed => _completed.Task;

    private readonly List<string> _injected = [];
    private readonly List<string> _churn = [];

    public IReadOnlyList<string> ChurnDone => _churn;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        LogStarted(logger, _topic, DemoScenario.AttackNames.Length, o.Speed);
        using var timer = new PeriodicTimer(Tick / Math.Max(0.01, o.Speed), time);

        // Whole seconds: the behaviour windows fall on the same ticks in every run.
        var wall = time.GetUtcNow();
        var now = new DateTimeOffset(wall.Ticks - (wall.Ticks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
        var nextAttack = DateTimeOffset.MaxValue;
        var nextMalformed = now + o.MalformedEvery;
        var nextCheck = now;
        DateTimeOffset? end = null;
        var attackIndex = 0;
        var churnIndex = 0;
        var stealthyTicks = 0;
        string? stealthy = null;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                now += Tick;
                if (now >= end)
                {
                    await CatchUpAsync(stoppingToken).ConfigureAwait(false);
                    LogCompleted(logger, Produced, _injected.Count, _churn.Count);
                    _completed.TrySetResult();
                    if (o.ExitWhenDone)
                    {
                        lifetime.StopApplication();
                    }

                    break;
                }

                Send(_scenario.NormalTick(now));
                if (LearningEndedAt is null && now >= nextCheck)
                {
                    nextCheck = now.AddSeconds(1);
                    if (await AllActiveAsync(stoppingToken).ConfigureAwait(false))
                    {
                        LearningEndedAt = now;
                        nextAttack = now + o.AttackDelay;
                        LogLearned(logger, o.AttackDelay.TotalSeconds);
                    }
                }

                // Benign churn: a DNS name moving before the attacks, the rollout and the CronJob's next run after
                // them (a container start gives the models two minutes' grace, which would hide the stealthy attacks).
                var churnDue = churnIndex == 0 ? LearningEndedAt + (o.AttackDelay / 2) : attackIndex == DemoScenario.AttackNames.Length ? nextAttack + (o.AttackSpacing * (churnIndex - 1)) : null;
                if (churnIndex < DemoScenario.ChurnNames.Length && now >= churnDue)
                {
                    // It must not page anyone.
                    var churn = DemoScenario.ChurnNames[churnIndex++];
                    Send(_scenario.Churn(churn, now));
                    _churn.Add(churn);
                    LogChurn(logger, churn);
                    if (churnIndex == DemoScenario.ChurnNames.Length)
                    {
                        end = now + o.Tail;
                    }
                }

                if (now >= nextAttack && attackIndex < DemoScenario.AttackNames.Length)
                {
                    var name = DemoScenario.AttackNames[attackIndex++];
                    Send(_scenario.Attack(name, now));
                    _injected.Add(name);
                    LogAttack(logger, name);
                    nextAttack = now + o.AttackSpacing;

                    // A stealthy attack is a rate or a volume: it goes on for a while (1.5 s of ticks), not one instant.
                    stealthyTicks = DemoScenario.StealthyAttacks.Contains(name) ? 15 : 0;
                    stealthy = name;
                }
                else if (stealthyTicks > 0)
                {
                    stealthyTicks--;
                    Send(_scenario.Attack(stealthy!, now));
                }

                if (now >= nextMalformed)
                {
                    nextMalformed = now + o.MalformedEvery;
                    producer.Records.Produce(_topic, null, DemoScenario.Malformed((int)MalformedSent));
                    MalformedSent++;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        producer.Records.Flush(TimeSpan.FromSeconds(5));
    }

    /// <summary>
    /// Waits until detection has processed every event sent so far, so what the generator asks next (is every
    /// workload active?) has the same answer at the same event time on any machine.
    /// </summary>
    private async Task CatchUpAsync(CancellationToken ct)
    {
        producer.Records.Flush(TimeSpan.FromSeconds(30));
        var since = time.GetTimestamp();
        while (Processed() < Produced)
        {
            if (time.GetElapsedTime(since) > CatchUpCeiling)
            {
                LogBehind(logger, Produced - Processed(), CatchUpCeiling.TotalSeconds);
                return;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20), time, ct).ConfigureAwait(false);
        }
    }

    private long Processed() =>
        (long)(detectionMetrics.EventsProcessed.WithLabels("learning").Value + detectionMetrics.EventsProcessed.WithLabels("active").Value);

    private async Task<bool> AllActiveAsync(CancellationToken ct)
    {
        await CatchUpAsync(ct).ConfigureAwait(false);
        var snapshot = await pipeline.SnapshotAsync().ConfigureAwait(false);
        var demo = snapshot.Where(s => s.Key.Cluster == DemoScenario.Cluster).ToList();
        return demo.Count >= 3 && demo.All(s => s.Phase == BaselinePhase.Active);
    }

    private void Send(List<KeyValuePair<byte[], byte[]>> batch)
    {
        foreach (var (key, value) in batch)
        {
            producer.Records.Produce(_topic, key, value);
            Produced++;
        }
    }

    [LoggerMessage(EventId = 5000, Level = LogLevel.Information, Message = "Demo generator publishing to {Topic} at {Speed}x; {Attacks} attack types will follow once baselines are active")]
    private static partial void LogStarted(ILogger logger, string topic, int attacks, double speed);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Information, Message = "Demo scenario complete: {Events} events, {Attacks} attacks, {Churn} benign changes sent and processed")]
    private static partial void LogCompleted(ILogger logger, long events, int attacks, int churn);

    [LoggerMessage(EventId = 5005, Level = LogLevel.Warning, Message = "Demo: detection is still {Behind} events behind after {Seconds} s; going on without it")]
    private static partial void LogBehind(ILogger logger, long behind, double seconds);

    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "All demo workloads are active; attacks start in {Seconds} s")]
    private static partial void LogLearned(ILogger logger, double seconds);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Information, Message = "Demo: benign churn '{Churn}'")]
    private static partial void LogChurn(ILogger logger, string churn);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Warning, Message = "Demo: injecting attack '{Attack}'")]
    private static partial void LogAttack(ILogger logger, string attack);
}
