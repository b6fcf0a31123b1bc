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
            var overrides = HostRunner.CommonOverrides(parse.GetValue(cli.AlertsFile), parse.GetValue(cli.Listen), parse.GetValue(cli.AdminListen));
            if (parse.GetValue(cli.Bootstrap) is { } b)
            {
                overrides["Kafka:BootstrapServers"] = b;
            }

            if (parse.GetValue(topicsOption) is { Length: > 0 } topics)
            {
                for (var i = 0; i < topics.Length; i++)
                {
                    overrides[$"Kafka:Topics:{i}"] = topics[i];
                }
            }

            if (parse.GetValue(groupOption) is { } g)
            {
                overrides["Kafka:GroupId"] = g;
            }

            if (parse.GetValue(runModelsOption) is { } m)
            {
                overrides["Detection:Models:Directory"] = Path.GetFullPath(m);
            }

            return HostRunner.RunHostAsync(SentinelHost.Build(parse.GetValue(cli.Config), overrides), parse.GetValue(cli.Duration), null, ct);
        });
        return run;
    }
}
