using RuntimeSentinel.Daemon.Demo;
using RuntimeSentinel.Generators.Demo;
using RuntimeSentinel.Kafka;

namespace RuntimeSentinel.Daemon.Cli;

/// <summary>Runs a built host until its duration ends or it is stopped, and the options every host verb shares.</summary>
internal static class HostRunner
{
    public static async Task<int> RunHostAsync(WebApplication app, int? durationSeconds, Func<int>? summary, CancellationToken ct)
    {
        // Validate every options section before anything starts, so one run lists every mistake at once.
        var failures = SentinelHost.ValidateAll(app.Services);
        if (failures.Count > 0)
        {
            await Console.Error.WriteLineAsync("Configuration is invalid:").ConfigureAwait(false);
            foreach (var failure in failures)
            {
                await Console.Error.WriteLineAsync("  - " + failure).ConfigureAwait(false);
            }

            await app.DisposeAsync().ConfigureAwait(false);
            return 2;
        }

        try
        {
            await app.StartAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (IOException ex) when (BindFailure(app, ex) is { } message)
        {
            // Kestrel says "Failed to bind to address ...": name the option that chose the address and how to change it.
            await Console.Error.WriteLineAsync(message).ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
            return 2;
        }

        await Console.Error.WriteLineAsync($"RuntimeSentinel serving /metrics /healthz /readyz on {SentinelHost.BoundAddress(app)}").ConfigureAwait(false);
        if (SentinelHost.AdminAddress(app) is { } admin)
        {
            await Console.Error.WriteLineAsync($"RuntimeSentinel admin /workloads on {admin}").ConfigureAwait(false);
        }

        var stopping = app.Lifetime.ApplicationStopping;
        using var both = CancellationTokenSource.CreateLinkedTokenSource(stopping, ct);
        try
        {
            await Task.Delay(durationSeconds is { } s ? TimeSpan.FromSeconds(s) : Timeout.InfiniteTimeSpan, app.Services.GetRequiredService<TimeProvider>(), both.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
        var health = app.Services.GetRequiredService<IngestionHealth>();
        var faulted = app.Services.GetRequiredService<RuntimeSentinel.Core.Health.HealthRegistry>().Faulted.ToList();
        foreach (var stage in faulted)
        {
            await Console.Error.WriteLineAsync($"stage {stage.Name} stopped on an error: {stage.Reason}").ConfigureAwait(false);
        }

        var code = health.Faulted || faulted.Count > 0 ? 1 : summary?.Invoke() ?? 0;
        await app.DisposeAsync().ConfigureAwait(false);
        return code;
    }

    /// <summary>
    /// A start-up that failed because a listen address is taken (another sentinel on the node, or another program), as an
    /// error that names the option and the flag; null for any other failure.
    /// </summary>
    internal static string? BindFailure(WebApplication app, IOException ex)
    {
        if (!ex.Message.Contains("bind", StringComparison.OrdinalIgnoreCase) && ex.InnerException?.Message.Contains("in use", StringComparison.OrdinalIgnoreCase) != true)
        {
            return null;
        }

        var http = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<HttpOptions>>().Value;
        var admin = !string.IsNullOrEmpty(http.AdminListen) && ex.Message.Contains(http.AdminListen, StringComparison.OrdinalIgnoreCase);
        var (option, flag, address) = admin ? ($"{HttpOptions.SectionName}:{nameof(HttpOptions.AdminListen)}", "--admin-listen", http.AdminListen) : ($"{HttpOptions.SectionName}:{nameof(HttpOptions.Listen)}", "--listen", http.Listen);
        var hint = admin ? " or an empty value to serve no admin endpoint" : "";
        return $"Cannot listen on {address} ({option}, {flag}): the address is in use, perhaps by another RuntimeSentinel on this machine. Choose another address with {flag} or {option}{hint}. ({ex.Message})";
    }

    public static int PrintDemoSummary(WebApplication app, DemoTally tally)
    {
        var generator = app.Services.GetRequiredService<DemoEventGenerator>();
        var ingest = app.Services.GetRequiredService<KafkaIngestService>();
        Console.WriteLine();
        Console.WriteLine("=== RuntimeSentinel demo summary ===");
        Console.WriteLine($"events produced: {generator.Produced}   consumed: {ingest.EventsIngested}   malformed sent: {generator.MalformedSent}   dead-lettered: {ingest.MessagesRejected}");
        Console.WriteLine($"learning ended:  {(generator.LearningEndedAt is { } t ? t.ToString("u", System.Globalization.CultureInfo.InvariantCulture) : "not yet (run longer)")}");
        Console.WriteLine($"incidents: {tally.Incidents} ({tally.Alerts} alerts folded into them)");
        foreach (var (category, n) in tally.ByCategory)
        {
            Console.WriteLine($"  {category,-20} {n}");
        }

        Console.WriteLine("attacks:");
        var scenarios = tally.ByScenario;
        var missed = 0;
        foreach (var attack in DemoScenario.AttackNames)
        {
            var injected = generator.AttacksInjected.Contains(attack);
            var found = scenarios.GetValueOrDefault("attack:" + attack);
            var stealthy = DemoScenario.StealthyAttacks.Contains(attack) ? " (stealthy: only a rate or volume changes)" : "";
            missed += injected && found.Incidents == 0 ? 1 : 0;
            Console.WriteLine($"  {attack,-24} {(injected ? "injected" : "not injected"),-13} {(found.Incidents > 0 ? $"DETECTED ({found.Incidents} incident, {found.Alerts} alerts)" : injected ? "MISSED" : "-")}{stealthy}");
        }

        Console.WriteLine($"benign churn after learning: {string.Join(", ", generator.ChurnDone)}");
        Console.WriteLine($"alerts on normal behaviour after learning: {tally.NormalAfterLearning}");

        // The demo is a check, not a show: a missed attack fails it.
        return missed == 0 ? 0 : 1;
    }
}
