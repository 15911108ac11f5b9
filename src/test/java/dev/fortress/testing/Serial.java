package dev.fortress.testing;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.Tag;

/**
 * A test class that runs alone, after the rest of the suite (the pom's {@code serial-test}
 * execution): the others run in two JVMs side by side. Each class so marked says why beside this
 * annotation: it changes what a class beside it would observe (it pauses replay on the replicas
 * {@code bin/services} runs, which every test database shares), or its assertions count which
 * server answered and another JVM's writes can make a shared replica lag.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Tag("serial")
public @interface Serial {}
