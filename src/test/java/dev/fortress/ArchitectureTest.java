package dev.fortress;

import static com.tngtech.archunit.core.domain.JavaClass.Predicates.assignableTo;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.fields;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noFields;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaField;
import com.tngtech.archunit.core.domain.JavaModifier;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.Test;

/**
 * The project's package rules (docs/design/README.md), on the compiled main classes. Infrastructure ({@code db},
 * {@code cache}, {@code jobs}, {@code ops}, {@code http}, {@code auth}) is given what it needs: it imports no
 * feature and not the root configuration or application, so a feature can change without it. And no
 * global state: executors and ObjectMappers come from the application's lifecycle and environment, and
 * a map held by a class rather than an instance is a constant.
 */
class ArchitectureTest {

    private static final String[] INFRASTRUCTURE = {
        "dev.fortress.db..",
        "dev.fortress.cache..",
        "dev.fortress.jobs..",
        "dev.fortress.ops..",
        "dev.fortress.http..",
        "dev.fortress.auth.."
    };
    private static final String[] FEATURES = {
        "dev.fortress.users..",
        "dev.fortress.orgs..",
        "dev.fortress.transactions..",
        "dev.fortress.imports..",
        "dev.fortress.idempotency.."
    };

    private static final JavaClasses MAIN = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.fortress");

    @Test
    void infrastructureImportsNoFeature() {
        noClasses()
                .that()
                .resideInAnyPackage(INFRASTRUCTURE)
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage(FEATURES)
                .check(MAIN);
    }

    @Test
    void infrastructureAndFeaturesImportNeitherTheRootConfigurationNorTheApplication() {
        noClasses()
                .that()
                .resideInAnyPackage(INFRASTRUCTURE)
                .or()
                .resideInAnyPackage(FEATURES)
                .should()
                .dependOnClassesThat()
                .haveFullyQualifiedName(FortressConfiguration.class.getName())
                .orShould()
                .dependOnClassesThat()
                .haveFullyQualifiedName(FortressApplication.class.getName())
                .orShould()
                .dependOnClassesThat()
                .haveFullyQualifiedName(SeedCommand.class.getName())
                .orShould()
                .dependOnClassesThat()
                .haveFullyQualifiedName(KeysCommand.class.getName())
                .check(MAIN);
    }

    /** A static executor outlives the application that started it; a static ObjectMapper is not the application's. */
    private static final ArchRule NO_STATIC_EXECUTOR_OR_OBJECT_MAPPER = noFields()
            .that()
            .areStatic()
            .should()
            .haveRawType(assignableTo(Executor.class))
            .orShould()
            .haveRawType(assignableTo(ObjectMapper.class))
            .because("they are taken from the application's lifecycle and environment (issue 26)");

    /** A map a class holds is a constant: final, and its static initialiser makes no mutable map. */
    private static final ArchRule STATIC_MAPS_ARE_CONSTANTS = fields().that()
            .areStatic()
            .and()
            .haveRawType(assignableTo(Map.class))
            .should(new ArchCondition<JavaField>("be final, from Map.of, Map.copyOf or the like") {
                @Override
                public void check(JavaField field, ConditionEvents events) {
                    boolean finalField = field.getModifiers().contains(JavaModifier.FINAL);
                    boolean makesMutableMap = field.getOwner()
                            .getStaticInitializer()
                            .map(init -> init.getConstructorCallsFromSelf().stream()
                                    .anyMatch(call -> call.getTargetOwner().isAssignableTo(Map.class)))
                            .orElse(false);
                    if (!finalField || makesMutableMap) {
                        events.add(SimpleConditionEvent.violated(
                                field,
                                field.getFullName()
                                        + (finalField ? "" : " is not final")
                                        + (makesMutableMap
                                                ? ", made mutable in "
                                                        + field.getOwner().getSimpleName() + "'s static initialiser"
                                                : "")));
                    }
                }
            })
            .because("state belongs to an instance the application builds (issue 26)");

    @Test
    void noStaticExecutorObjectMapperOrMutableMap() {
        NO_STATIC_EXECUTOR_OR_OBJECT_MAPPER.check(MAIN);
        STATIC_MAPS_ARE_CONSTANTS.check(MAIN);
    }

    /** The two rules above see what they forbid. */
    @Test
    void theGlobalStateRulesFindGlobalState() {
        JavaClasses offending = new ClassFileImporter().importClasses(GlobalState.class, Constants.class);
        assertThatThrownBy(() -> NO_STATIC_EXECUTOR_OR_OBJECT_MAPPER.check(offending))
                .hasMessageContaining("GlobalState.SUMMARIES")
                .hasMessageContaining("GlobalState.JSON")
                .hasMessageNotContaining("Constants");
        assertThatThrownBy(() -> STATIC_MAPS_ARE_CONSTANTS.check(offending))
                .hasMessageContaining("GlobalState.NAMES")
                .hasMessageNotContaining("Constants");
    }

    @SuppressWarnings("unused")
    private static final class GlobalState {
        static final ScheduledExecutorService SUMMARIES = Executors.newSingleThreadScheduledExecutor();
        static final ObjectMapper JSON = new ObjectMapper();
        static final Map<String, String> NAMES = new ConcurrentHashMap<>();
    }

    @SuppressWarnings("unused")
    private static final class Constants {
        static final Map<String, Integer> STATES = Map.of("enqueued", 1, "failed", 2);
    }
}
