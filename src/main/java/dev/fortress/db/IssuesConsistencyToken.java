package dev.fortress.db;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/** On a write route: a successful answer carries {@code X-Consistency-Token} (see {@link ConsistencyTokenFeature}). */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.METHOD)
public @interface IssuesConsistencyToken {}
