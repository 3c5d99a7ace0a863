// Reads a .mar the way TorchServe's frontend does (java.util.zip.ZipInputStream, a stream of
// local headers) and prints one line per entry: name, size, CRC-32 computed over the bytes
// read, and the CRC the header declares. Exits 1 on any ZipException or a CRC mismatch.
import java.io.BufferedInputStream;
import java.io.FileInputStream;
import java.io.InputStream;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

public final class MarReader {
    public static void main(String[] args) throws Exception {
        byte[] buffer = new byte[1 << 20];
        try (InputStream file = new BufferedInputStream(new FileInputStream(args[0]), 1 << 20);
             ZipInputStream zip = new ZipInputStream(file)) {
            ZipEntry entry;
            while ((entry = zip.getNextEntry()) != null) {
                CRC32 crc = new CRC32();
                long size = 0;
                int count;
                while ((count = zip.read(buffer)) > 0) {
                    crc.update(buffer, 0, count);
                    size += count;
                }
                String method = entry.getMethod() == ZipEntry.STORED ? "stored" : "deflated";
                System.out.printf("%s\t%d\t%08x\t%08x\t%s%n",
                        entry.getName(), size, crc.getValue(), entry.getCrc(), method);
                if (entry.getCrc() != crc.getValue()) {
                    System.err.println("CRC mismatch: " + entry.getName());
                    System.exit(1);
                }
            }
        }
    }
}
