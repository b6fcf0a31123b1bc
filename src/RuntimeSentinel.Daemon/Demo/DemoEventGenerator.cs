using Microsoft.Extensions.Options;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Detection;
using RuntimeSentinel.Kafka;

namespace RuntimeSentinel.Daemon.Demo;

internal sealed class DemoOptions
{
    public const string SectionName = "Demo";

    public int Seed { get; set; } = 7;

    /// <summary>Pause after every demo workload turned active before the first attack.</summary>
    public TimeSpan AttackDelay { get; set; } = TimeSpan.FromSeconds(4);

    public TimeSpan AttackSpacing { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>A malformed message is sent this often, to show dead-lettering under load.</summary>
    public TimeSpan MalformedEvery { get; set; } = TimeSpan.FromSeconds(15);
}

/// <summary>
/// Publishes the demo's behaviour into the (embedded) Kafka events topic every 100 ms, as a sensor would, and
/// once every demo workload's baseline is active injects the attacks one by one. Registered after ingestion so
/// the host stops it first.
/// </summary>
internal sealed partial class DemoEventGenerator(
    KafkaProducer producer,
    IOptions<KafkaOptions> kafka,
    IOptions<DemoOptions> options,
    DetectionPipeline pipeline,
    TimeProvider time,
    ILogger<DemoEventGenerator> logger) : BackgroundService
{
    private readonly DemoScenario _scenario = new(options.Value.Seed);
    private readonly string _topic = kafka.Value.Topics[0];

    public long Produced { get; private set; }

    public long MalformedSent { get; private set; }

    public IReadOnlyList<string> AttacksInjected => _injected;

    public DateTimeOffset? LearningEndedAt { get; private set; }

    private readonly List<string> _injected = [];
    private readonly List<string> _churn = [];

    public IReadOnlyList<string> ChurnDone => _churn;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        LogStarted(logger, _topic, DemoScenario.AttackNames.Length);
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100), time);
        var nextAttack = DateTimeOffset.MaxValue;
        var nextMalformed = time.GetUtcNow() + o.MalformedEvery;
        var nextCheck = time.GetUtcNow();
        var attackIndex = 0;
        var churnIndex = 0;
        var stealthyTicks = 0;
        string? stealthy = null;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                var now = time.GetUtcNow();
                Send(_scenario.NormalTick(now));
                if (LearningEndedAt is null && now >= nextCheck)
                {
                    nextCheck = now.AddSeconds(1);
                    if (await AllActiveAsync().ConfigureAwait(false))
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

    private async Task<bool> AllActiveAsync()
    {
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

    [LoggerMessage(EventId = 5000, Level = LogLevel.Information, Message = "Demo generator publishing to {Topic}; {Attacks} attack types will follow once baselines are active")]
    private static partial void LogStarted(ILogger logger, string topic, int attacks);

    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "All demo workloads are active; attacks start in {Seconds} s")]
    private static partial void LogLearned(ILogger logger, double seconds);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Information, Message = "Demo: benign churn '{Churn}'")]
    private static partial void LogChurn(ILogger logger, string churn);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Warning, Message = "Demo: injecting attack '{Attack}'")]
    private static partial void LogAttack(ILogger logger, string attack);
}
