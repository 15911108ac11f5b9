package dev.fortress.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.zip.CRC32;

/**
 * What a key looks like, as GitHub's tokens do: {@code fk_}, 30 random base62 characters (178 bits)
 * and a 6-character base62 CRC32 of them. The prefix makes a leaked key recognisable in logs and by
 * secret scanners; the checksum lets a scanner, and this service, tell a key from a typo or noise
 * without a database look-up. Only the key's SHA-256 is stored: 178 random bits need no slow hash.
 */
public final class ApiKeyFormat {

    public static final String PREFIX = "fk_";
    static final int RANDOM_CHARS = 30;
    static final int CHECKSUM_CHARS = 6;
    public static final int LENGTH = PREFIX.length() + RANDOM_CHARS + CHECKSUM_CHARS;
    /** How much of a key {@code keys list} and the logs show: the prefix and 8 random characters. */
    static final int SHOWN_CHARS = PREFIX.length() + 8;

    private static final String BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    /** Whether an ASCII character is a base62 digit: checked for every key a request presents. */
    private static final boolean[] IS_BASE62 = new boolean[128];

    static {
        for (char c : BASE62.toCharArray()) {
            IS_BASE62[c] = true;
        }
    }

    private ApiKeyFormat() {}

    /** A new key. */
    public static String generate(SecureRandom random) {
        StringBuilder key = new StringBuilder(LENGTH).append(PREFIX);
        for (int i = 0; i < RANDOM_CHARS; i++) {
            key.append(BASE62.charAt(random.nextInt(BASE62.length())));
        }
        return key.append(checksum(key, PREFIX.length(), PREFIX.length() + RANDOM_CHARS))
                .toString();
    }

    /** Whether {@code key} has the form and a checksum that matches: a key Fortress could have made. */
    public static boolean wellFormed(String key) {
        if (key == null || key.length() != LENGTH || !key.startsWith(PREFIX)) {
            return false;
        }
        for (int i = PREFIX.length(); i < LENGTH; i++) {
            char c = key.charAt(i);
            if (c >= IS_BASE62.length || !IS_BASE62[c]) {
                return false;
            }
        }
        int end = PREFIX.length() + RANDOM_CHARS;
        return key.regionMatches(end, checksum(key, PREFIX.length(), end), 0, CHECKSUM_CHARS);
    }

    /** What is stored of a key and looked up by: its SHA-256. */
    public static byte[] hash(String key) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.US_ASCII));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The part of a key that may be shown: {@code fk_} and its first 8 random characters. */
    public static String shown(String key) {
        return key.substring(0, Math.min(key.length(), SHOWN_CHARS));
    }

    private static String checksum(CharSequence key, int from, int to) {
        CRC32 crc = new CRC32();
        for (int i = from; i < to; i++) {
            crc.update(key.charAt(i));
        }
        long value = crc.getValue();
        char[] digits = new char[CHECKSUM_CHARS]; // 62^6 > 2^32: every CRC32 fits
        for (int i = CHECKSUM_CHARS - 1; i >= 0; i--) {
            digits[i] = BASE62.charAt((int) (value % 62));
            value /= 62;
        }
        return new String(digits);
    }
}
