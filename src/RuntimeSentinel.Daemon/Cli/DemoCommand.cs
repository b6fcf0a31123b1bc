using System.CommandLine;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Daemon.Demo;
using RuntimeSentinel.Generators.Demo;

namespace RuntimeSentinel.Daemon.Cli;

/// <summary>The demo and its generated data.</summary>
internal static class DemoCommand
{
    /// <summary>sentinel demo: embedded Kafka, generated workloads, injected attacks; exits 1 if one is missed.</summary>
    public static Command Create(CliOptions cli)
    {
        var learningOption = new Option<int>("--learning") { Description = "Seconds each demo workload learns before alerting.", DefaultValueFactory = _ => 45 };
        var speedOption = new Option<double>("--speed") { Description = "Scenario seconds per wall-clock second (the scenario runs on its own clock; the outcome does not depend on it).", DefaultValueFactory = _ => 1 };
        var exitOption = new Option<bool>("--exit-when-done") { Description = "Exit once the scenario is complete and detected (exit code 1 if an attack was missed)." };
        var demo = new Command("demo", "Embedded Kafka + generated workloads: learn, then catch injected attacks.")
        {
            cli.AlertsFile, cli.Listen, cli.AdminListen, cli.Duration, learningOption, cli.Seed, speedOption, exitOption,
        };
        demo.Validators.Add(r =>
        {
            if (r.GetValue(speedOption) is not (> 0 and <= 100))
            {
                r.AddError("--speed must be above 0 and at most 100.");
            }
        });
        demo.SetAction((parse, ct) =>
        {
            var profile = HostProfile.Demo(parse.GetValue(learningOption), parse.GetValue(cli.Seed), parse.GetValue(speedOption), parse.GetValue(exitOption)) with
            {
                AlertsFile = parse.GetValue(cli.AlertsFile),
                Listen = parse.GetValue(cli.Listen),
                AdminListen = parse.GetValue(cli.AdminListen),
            };
            var tally = new DemoTally();
            var app = SentinelHost.Build(null, profile, (services, config) =>
            {
                services.AddOptions<DemoOptions>().Bind(config.GetSection(DemoOptions.SectionName));
                services.AddSingleton<IIncidentObserver>(tally);
                services.AddSingleton<DemoEventGenerator>();
                services.AddHostedService(sp => sp.GetRequiredService<DemoEventGenerator>());
            });
            return HostRunner.RunHostAsync(app, parse.GetValue(cli.Duration), () => HostRunner.PrintDemoSummary(app, tally), ct);
        });
        return demo;
    }

    /// <summary>sentinel demo-events: the demo's workloads (and attacks) as JSON lines on a simulated clock.</summary>
    public static Command CreateEvents(CliOptions cli)
    {
        var secondsOption = new Option<int>("--seconds") { Description = "Seconds of event time to generate.", DefaultValueFactory = _ => 600 };
        var startOption = new Option<DateTimeOffset>("--start") { Description = "Event time of the first tick.", DefaultValueFactory = _ => new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero) };
        var attacksAfterOption = new Option<int?>("--attacks-after") { Description = "Inject the demo attacks from this second on, one every --attack-every seconds, cycling (default: none)." };
        var attackEveryOption = new Option<int>("--attack-every") { Description = "Seconds between injected attacks.", DefaultValueFactory = _ => 10 };
        var demoEvents = new Command("demo-events", "Write the demo's generated workloads (and optionally its attacks, labelled scenario=attack:*) as JSON lines, on a simulated clock: data for train and evaluate.")
        {
            secondsOption, startOption, attacksAfterOption, attackEveryOption, cli.Seed,
        };
        demoEvents.SetAction(async (parse, ct) =>
        {
            var scenario = new DemoScenario(parse.GetValue(cli.Seed));
            var start = parse.GetValue(startOption);
            var attacksAfter = parse.GetValue(attacksAfterOption);
            var every = Math.Max(1, parse.GetValue(attackEveryOption));
            await using var stdout = Console.OpenStandardOutput();
            var nextAttack = 0;
            for (var tick = 0; tick < parse.GetValue(secondsOption) * 10 && !ct.IsCancellationRequested; tick++)
            {
                var now = start.AddMilliseconds(tick * 100);
                var batch = scenario.NormalTick(now).ToList();
                if (attacksAfter is { } after && tick >= after * 10 && (tick - (after * 10)) % (every * 10) == 0)
                {
                    batch.AddRange(scenario.Attack(DemoScenario.AttackNames[nextAttack++ % DemoScenario.AttackNames.Length], now));
                }

                foreach (var (_, value) in batch)
                {
                    await stdout.WriteAsync(value, ct).ConfigureAwait(false);
                    stdout.WriteByte((byte)'\n');
                }
            }

            return 0;
        });
        return demoEvents;
    }
}
