using Curvature.Benchmarks.Report;

// Builds benchmarks/results/RESULTS.md and the time-vs-n chart from one benchmark run:
//   dotnet run --project benchmarks/Curvature.Benchmarks.Report -- --bdn artifacts/bench/results
//       --csv artifacts/bench/baseline-openblas.csv --csv artifacts/bench/baseline-mkl.csv --csv artifacts/bench/torch.csv
//       --out benchmarks/results [--note "text"] [--interleaved artifacts/bench/interleaved.csv]
//       [--interleaved-command "..."] [--interleaved-note "text"]
string bdn = "artifacts/bench/results";
string output = "benchmarks/results";
var csvFiles = new List<string>();
var notes = new List<string>();
string? interleaved = null, interleavedCommand = null;
var interleavedNotes = new List<string>();
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--bdn" when i + 1 < args.Length: bdn = args[++i]; break;
        case "--csv" when i + 1 < args.Length: csvFiles.Add(args[++i]); break;
        case "--out" when i + 1 < args.Length: output = args[++i]; break;
        case "--note" when i + 1 < args.Length: notes.Add(args[++i]); break;
        case "--interleaved" when i + 1 < args.Length: interleaved = args[++i]; break;
        case "--interleaved-command" when i + 1 < args.Length: interleavedCommand = args[++i]; break;
        case "--interleaved-note" when i + 1 < args.Length: interleavedNotes.Add(args[++i]); break;
        default:
            Console.Error.WriteLine($"report: unknown argument '{args[i]}'");
            return 2;
    }
}

var table = new ResultTable();
table.AddRange(ResultReader.ReadBenchmarkDotNet(bdn));
foreach (string csv in csvFiles)
{
    if (!File.Exists(csv))
    {
        notes.Add($"{Path.GetFileName(csv)} was not produced in this run; its columns are empty.");
        continue;
    }

    table.AddRange(ResultReader.ReadCsv(csv));
}

var missing = Implementations.All.Where(a => !table.Implementations.Contains(a.Key)).Select(a => a.Label).ToArray();
if (missing.Length > 0)
{
    notes.Add($"Not measured in this run: {string.Join(", ", missing)}.");
}

Directory.CreateDirectory(output);
const string chartFile = "kfac-step-time-vs-n.png";
bool chart = TimeChart.Save(table, "kfacstep", "K-FAC step (dense layer, batch 256), double", Path.Combine(output, chartFile));
string markdown = MarkdownReport.Build(table, ResultReader.Host, chartFile, notes,
    interleaved is null ? string.Empty : InterleavedSection.Build(interleaved, interleavedCommand, interleavedNotes));
markdown += AlgorithmsSection.Build(bdn);
File.WriteAllText(Path.Combine(output, "RESULTS.md"), markdown);
Console.WriteLine($"report: {table.Count} medians -> {Path.Combine(output, "RESULTS.md")}{(chart ? $" and {chartFile}" : "")}");
return table.Count == 0 ? 1 : 0;
