using System.Text.RegularExpressions;
using System.Xml.Linq;
using Curvature.Tests.TestKit;
using Xunit;

namespace Curvature.Tests.Packaging;

/// <summary>
/// The XML documentation shipped in the packages (and the package READMEs) is written for a package user: no words or
/// pointers that only make sense inside this repository.
/// </summary>
public sealed class PublicDocumentationTests
{
    /// <summary>What a package user cannot see or follow, with why.</summary>
    public static readonly (string Pattern, string Why)[] ForbiddenPatterns =
    [
        (@"\bthe seed\b(?!\s+value)|\bseed['’]s\b|\bseed code\b|\bseed (?:project|script|implementation|version)\b", "refers to the code the project was started from"),
        (@"\b[\w.-]+\.md\b", "points to a Markdown file the package does not contain"),
        (@"\bREADME\b", "points to a README the package does not contain"),
        // A section of a cited paper or book ("Martens & Grosse 2015, §6.3", "Golub and Van Loan §8.3") is fine.
        (@"(?<!\d{4}[,;]?\s?|\bLoan\s|\)[,;]?\s?)§\s*\d", "points to a section of a document the package does not contain"),
        (@"\bissues?\s*#?\d+|(?<![\w&])#\d+\b", "names an issue number"),
        (@"\bdesign notes?\b|\bdesign doc", "points to internal design notes"),
        (@"(?<![\w/.])(?:src|tests|benchmarks|samples|native|shared)/\w", "points to a path in the repository"),
        (@"\bTODO\b|\bFIXME\b|\bXXX\b|\bHACK\b", "an unfinished-work marker"),
    ];

    public static TheoryData<string> Libraries => [.. RepositoryPaths.LibraryProjects().Select(Path.GetFileNameWithoutExtension).Cast<string>()];

    [Theory]
    [MemberData(nameof(Libraries))]
    public void XmlDocumentation_HasNoRepositoryInternalWords(string library)
    {
        var findings = Findings(library).ToList();
        Assert.True(findings.Count == 0, $"{findings.Count} doc comments of {library} speak of things a package user does not have:\n" + string.Join("\n", findings.Select(f => f.ToString())));
    }

    [Theory]
    [MemberData(nameof(Libraries))]
    public void XmlDocumentation_IsGenerated_AndDocumentsPublicTypes(string library)
    {
        var doc = XDocument.Load(XmlPath(library));
        Assert.Equal(library, doc.Root?.Element("assembly")?.Element("name")?.Value);
        Assert.True(doc.Descendants("member").Count(m => m.Attribute("name")!.Value.StartsWith("T:", StringComparison.Ordinal)) > 0);
    }

    [Fact]
    public void PackageReadmeParts_HaveNoRepositoryInternalWords()
    {
        var parts = Directory.GetFiles(Path.Combine(RepositoryPaths.Root, "src", "packaging"), "*.md")
            .Concat(RepositoryPaths.LibraryProjects().Select(p => Path.Combine(Path.GetDirectoryName(p)!, "PACKAGE.md")));
        var findings = new List<string>();
        foreach (var part in parts)
        {
            Assert.True(File.Exists(part), $"missing {part}");
            string text = File.ReadAllText(part);
            foreach (var (pattern, why) in ForbiddenPatterns)
            {
                foreach (Match m in Regex.Matches(text, pattern, RegexOptions.IgnoreCase))
                {
                    findings.Add($"{Path.GetRelativePath(RepositoryPaths.Root, part)}: '{m.Value}' ({why})");
                }
            }
        }

        Assert.True(findings.Count == 0, string.Join("\n", findings));
    }

    private static string XmlPath(string library)
    {
        string bin = Path.Combine(RepositoryPaths.Root, "src", library, "bin", RepositoryPaths.Configuration);
        var files = Directory.Exists(bin) ? Directory.GetFiles(bin, library + ".xml", SearchOption.AllDirectories) : [];
        Assert.True(files.Length > 0, $"No {library}.xml under {bin}: build the solution in {RepositoryPaths.Configuration} first.");
        return files.OrderByDescending(File.GetLastWriteTimeUtc).First();
    }

    private static IEnumerable<Finding> Findings(string library)
    {
        var doc = XDocument.Load(XmlPath(library));
        foreach (var member in doc.Descendants("member"))
        {
            string name = member.Attribute("name")!.Value;
            // The text a reader sees, plus link targets (href); code references (cref) are names, not prose.
            string text = string.Join(" ", member.DescendantNodes().OfType<XText>().Select(t => t.Value))
                + " " + string.Join(" ", member.Descendants().Attributes("href").Select(a => a.Value));
            text = Regex.Replace(text, @"\s+", " ");
            foreach (var (pattern, why) in ForbiddenPatterns)
            {
                foreach (Match m in Regex.Matches(text, pattern, RegexOptions.IgnoreCase))
                {
                    int start = Math.Max(0, m.Index - 40);
                    yield return new Finding(name, m.Value, why, text.Substring(start, Math.Min(text.Length - start, m.Length + 80)));
                }
            }
        }
    }

    private sealed record Finding(string Member, string Match, string Why, string Context)
    {
        public override string ToString() => $"  {Member}: '{Match}' ({Why}) … {Context} …";
    }
}
