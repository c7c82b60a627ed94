using Curvature.Tests.Kernels;

// Writes the managed kernels' fingerprint (vector width + results) to the file named by the first argument.
if (args.Length != 1)
{
    Console.Error.WriteLine("usage: Curvature.AotProbe OUTPUT.bin");
    return 2;
}

using (var stream = File.Create(args[0]))
{
    KernelFingerprint.Write(stream);
}

Console.WriteLine($"width {KernelFingerprint.Width}");
return 0;
