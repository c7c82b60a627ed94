namespace Curvature.Demo.Data.Idx;

/// <summary>
/// An IDX file is missing, unreadable, corrupt or not of the expected shape. The message names the file;
/// <see cref="FilePath"/> and <see cref="Problem"/> carry the same facts for code.
/// </summary>
public sealed class IdxFileException : IOException
{
    /// <summary>Creates the exception for <paramref name="filePath"/>.</summary>
    public IdxFileException(string filePath, IdxFileProblem problem, string detail, Exception? innerException = null)
        : base($"IDX file '{filePath}': {detail}", innerException)
    {
        FilePath = filePath;
        Problem = problem;
    }

    /// <summary>The file that could not be read.</summary>
    public string FilePath { get; }

    /// <summary>What is wrong with it.</summary>
    public IdxFileProblem Problem { get; }
}
