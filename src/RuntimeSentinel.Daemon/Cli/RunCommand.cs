using System.CommandLine;

namespace RuntimeSentinel.Daemon.Cli;

/// <summary>The production verb.</summary>
internal static class RunCommand
{
    /// <summary>sentinel run: the daemon against the configured Kafka.</summary>
    public static Command Create(CliOptions cli)
    {
        var topicsOption = new Option<string[]>("--topic") { Description = "Event topic to consume (repeatable).", AllowMultipleArgumentsPerToken = true };
        var groupOption = new Option<string?>("--group") { Description = "Kafka consumer group id." };
        var runModelsOption = new Option<string?>("--models") { Description = "Model folder to hot-swap promoted versions from (Detection:Models:Directory)." };
        var run = new Command("run", "Run the daemon against the configured Kafka (production).")
        {
            cli.Config, cli.AlertsFile, cli.Listen, cli.AdminListen, cli.Bootstrap, topicsOption, groupOption, cli.Duration, runModelsOption,
        };
        run.SetAction((parse, ct) =>
        {
            var profile = new HostProfile
            {
                AlertsFile = parse.GetValue(cli.AlertsFile),
                Listen = parse.GetValue(cli.Listen),
                AdminListen = parse.GetValue(cli.AdminListen),
                BootstrapServers = parse.GetValue(cli.Bootstrap),
                Topics = parse.GetValue(topicsOption) is { Length: > 0 } topics ? topics : null,
                GroupId = parse.GetValue(groupOption),
                ModelsDirectory = parse.GetValue(runModelsOption) is { } m ? Path.GetFullPath(m) : null,
            };

            return HostRunner.RunHostAsync(SentinelHost.Build(parse.GetValue(cli.Config), profile), parse.GetValue(cli.Duration), null, ct);
        });
        return run;
    }
}
