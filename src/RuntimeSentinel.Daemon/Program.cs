using System.CommandLine;
using RuntimeSentinel.Daemon.Cli;

// prometheus-net's EventCounter adapter and debug metrics publish names that break Prometheus conventions
// (`*_count` gauges, also from the System.Runtime meter); process_* and dotnet_* runtime metrics stay, and
// `promtool check metrics` is clean.
Prometheus.Metrics.SuppressDefaultMetrics(new Prometheus.SuppressDefaultMetricOptions { SuppressEventCounters = true, SuppressDebugMetrics = true, SuppressMeters = true });

var cli = new CliOptions();
var root = new RootCommand("RuntimeSentinel: learns each container workload's runtime behaviour from Kafka and alerts on what departs from it.")
{
    RunCommand.Create(cli), DemoCommand.Create(cli), DemoCommand.CreateEvents(cli), ConvertCommand.Create(cli), ReplayCommand.Create(cli),
};
foreach (var command in ModelCli.Create(cli))
{
    root.Subcommands.Add(command);
}

root.Subcommands.Add(FeedbackCommand.Create(cli));
root.Subcommands.Add(CorpusCommand.Create(cli));
root.Subcommands.Add(FeaturesCommand.Create(cli));
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }).ConfigureAwait(false);
