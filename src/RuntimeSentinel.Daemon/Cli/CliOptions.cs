using System.CommandLine;

namespace RuntimeSentinel.Daemon.Cli;

/// <summary>Options more than one command takes: one instance each, added to every command that uses it.</summary>
internal sealed class CliOptions
{
    public Option<string?> Config { get; } = new("--config") { Description = "JSON configuration file (same shape as appsettings.json)." };

    public Option<string?> AlertsFile { get; } = new("--alerts-file") { Description = "Also append alerts as JSON lines to this file." };

    public Option<string?> Listen { get; } = new("--listen") { Description = "Address for /metrics, /healthz, /readyz (default 127.0.0.1:9464)." };

    public Option<string?> AdminListen { get; } = new("--admin-listen") { Description = "Address for the read-only admin endpoint /workloads (default 127.0.0.1:9465; empty: none)." };

    public Option<string?> Bootstrap { get; } = new("--bootstrap-servers") { Description = "Kafka brokers, or 'embedded'." };

    public Option<int?> Duration { get; } = new("--duration") { Description = "Stop after this many seconds and print a summary (default: run until Ctrl+C)." };

    public Option<int> Seed { get; } = new("--seed") { Description = "Seed of the demo's behaviour generator.", DefaultValueFactory = _ => 7 };

    public Option<string> From { get; } = new("--from") { Description = "Input format: auto, native, tetragon, falco, tracee, hubble.", DefaultValueFactory = _ => "auto" };

    public Option<bool> Json { get; } = new("--json") { Description = "Print the summary as one JSON object." };

    /// <summary>The schema of an <c>--incidents</c> file, as <c>Alerting:Schema</c> chooses it for the JSON sinks.</summary>
    public Option<string> IncidentsSchema { get; } = CreateIncidentsSchema();

    private static Option<string> CreateIncidentsSchema()
    {
        var o = new Option<string>("--incidents-schema")
        {
            Description = "Schema of the --incidents file: sentinel (sentinel.alert/v2), ocsf (OCSF Detection Finding) or ecs (Elastic Common Schema), as Alerting:Schema.",
            DefaultValueFactory = _ => "sentinel",
        };
        o.AcceptOnlyFromAmong([.. Core.Alerts.IncidentSchemas.Names]);
        return o;
    }

    /// <summary>The parsed <c>--incidents-schema</c> (the parser accepted only known names).</summary>
    public Core.Alerts.IncidentSchema ParseIncidentsSchema(ParseResult parse) =>
        Core.Alerts.IncidentSchemas.TryParse(parse.GetValue(IncidentsSchema), out var s) ? s : Core.Alerts.IncidentSchema.Sentinel;
}
