package dev.fortress;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * The project's package rules (docs/design/README.md), on the compiled main classes. Infrastructure ({@code db},
 * {@code cache}, {@code jobs}, {@code ops}, {@code http}, {@code auth}) is given what it needs: it imports no
 * feature and not the root configuration or application, so a feature can change without it.
 */
class ArchitectureTest {

    private static final String[] INFRASTRUCTURE = {
        "dev.fortress.db..", "dev.fortress.cache..", "dev.fortress.jobs..", "dev.fortress.ops..", "dev.fortress.http..",
        "dev.fortress.auth.."};
    private static final String[] FEATURES = {
        "dev.fortress.users..", "dev.fortress.orgs..", "dev.fortress.transactions..", "dev.fortress.imports..",
        "dev.fortress.idempotency.."};

    private static final JavaClasses MAIN = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.fortress");

    @Test
    void infrastructureImportsNoFeature() {
        noClasses().that().resideInAnyPackage(INFRASTRUCTURE)
                .should().dependOnClassesThat().resideInAnyPackage(FEATURES)
                .check(MAIN);
    }

    @Test
    void infrastructureAndFeaturesImportNeitherTheRootConfigurationNorTheApplication() {
        noClasses().that().resideInAnyPackage(INFRASTRUCTURE).or().resideInAnyPackage(FEATURES)
                .should().dependOnClassesThat().haveFullyQualifiedName(FortressConfiguration.class.getName())
                .orShould().dependOnClassesThat().haveFullyQualifiedName(FortressApplication.class.getName())
                .orShould().dependOnClassesThat().haveFullyQualifiedName(SeedCommand.class.getName())
                .orShould().dependOnClassesThat().haveFullyQualifiedName(KeysCommand.class.getName())
                .check(MAIN);
    }
}
