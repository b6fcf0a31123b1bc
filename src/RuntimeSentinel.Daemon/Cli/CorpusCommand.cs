using System.CommandLine;

namespace RuntimeSentinel.Daemon.Cli;

/// <summary>The labelled corpus generator.</summary>
internal static class CorpusCommand
{
    /// <summary>sentinel corpus: the realistic labelled shop corpus, or a differently shaped cluster per seed.</summary>
    public static Command Create(CliOptions cli)
    {
        var corpusOut = new Option<string>("--out") { Description = "Folder for tetragon.jsonl, hubble.jsonl, falco.jsonl and labels.json.", Required = true };
        var corpusStart = new Option<DateTimeOffset>("--start") { Description = "Event time the stream starts at.", DefaultValueFactory = _ => new DateTimeOffset(2026, 11, 30, 1, 0, 0, TimeSpan.Zero) };
        var shape = new Option<string>("--shape") { Description = "shop: the fixed 8-workload shop; cluster: a cluster drawn per seed from 21 archetypes (docs/formats.md, 'The cluster corpus').", DefaultValueFactory = _ => "shop" };
        shape.AcceptOnlyFromAmong("shop", "cluster");
        var corpus = new Command("corpus", "Write a realistic labelled corpus (Tetragon, Hubble and Falco exports): the shop (a 3-node cluster, 60 min of normal traffic with churn, then 30 min with 13 attacks) or, with --shape cluster, a cluster shaped by the seed (30 min learning, 30 min with churn, 30 min with 13+ attacks).")
        {
            corpusOut, cli.Seed, corpusStart, shape,
        };
        corpus.SetAction(async (parse, ct) =>
        {
            var dir = parse.GetValue(corpusOut)!;
            if (parse.GetValue(shape) == "cluster")
            {
                var (n, cluster) = await RuntimeSentinel.Generators.Corpus.ClusterCorpus.WriteAsync(dir, parse.GetValue(cli.Seed), parse.GetValue(corpusStart), ct).ConfigureAwait(false);
                Console.WriteLine($"wrote {n} records and {cluster.Labels.Count} labelled scenarios to {dir}");
                Console.Write(cluster.DescribeShape());
                Console.Write(RuntimeSentinel.Generators.Corpus.ShopCorpus.Describe(cluster.Labels));
                return 0;
            }

            var (records, labels) = await RuntimeSentinel.Generators.Corpus.ShopCorpus.WriteAsync(dir, parse.GetValue(cli.Seed), parse.GetValue(corpusStart), ct).ConfigureAwait(false);
            Console.WriteLine($"wrote {records} records and {labels.Count} labelled scenarios to {dir}");
            Console.Write(RuntimeSentinel.Generators.Corpus.ShopCorpus.Describe(labels));
            return 0;
        });
        return corpus;
    }
}
