using System.CommandLine;

namespace RuntimeSentinel.Daemon.Cli;

/// <summary>The labelled corpus generator.</summary>
internal static class CorpusCommand
{
    /// <summary>sentinel corpus: the realistic labelled shop corpus.</summary>
    public static Command Create(CliOptions cli)
    {
        var corpusOut = new Option<string>("--out") { Description = "Folder for tetragon.jsonl, hubble.jsonl, falco.jsonl and labels.json.", Required = true };
        var corpusStart = new Option<DateTimeOffset>("--start") { Description = "Event time the stream starts at.", DefaultValueFactory = _ => new DateTimeOffset(2026, 11, 30, 1, 0, 0, TimeSpan.Zero) };
        var corpus = new Command("corpus", "Write the realistic labelled shop corpus (Tetragon, Hubble and Falco exports of a 3-node cluster: 60 min of normal traffic with churn, then 30 min with 13 attacks).")
        {
            corpusOut, cli.Seed, corpusStart,
        };
        corpus.SetAction(async (parse, ct) =>
        {
            var (records, labels) = await RuntimeSentinel.Daemon.Corpus.ShopCorpus.WriteAsync(parse.GetValue(corpusOut)!, parse.GetValue(cli.Seed), parse.GetValue(corpusStart), ct).ConfigureAwait(false);
            Console.WriteLine($"wrote {records} records and {labels.Count} labelled scenarios to {parse.GetValue(corpusOut)}");
            Console.Write(RuntimeSentinel.Daemon.Corpus.ShopCorpus.Describe(labels));
            return 0;
        });
        return corpus;
    }
}
