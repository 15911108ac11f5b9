package dev.fortress.ops;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonTypeName;
import io.dropwizard.request.logging.LogbackAccessRequestLogFactory;

/**
 * Dropwizard's access log with an on/off switch ({@code server.requestLog.type: switchable}),
 * so that one environment variable ({@code REQUEST_LOG=true}) turns it on. The appender list
 * stays plain YAML in config.yml: a list cannot come from a {@code ${VAR:-default}} (bash ends
 * the default at the first brace, and Dropwizard's substitutor mangles a bracketed one), and a
 * {@code dw.} override cannot add to an empty list. Off, Jetty gets no request log at all.
 */
@JsonTypeName("switchable")
public class SwitchableRequestLogFactory extends LogbackAccessRequestLogFactory {

    private boolean enabled;

    @JsonProperty
    public boolean getEnabled() {
        return enabled;
    }

    @JsonProperty
    public void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }

    @JsonIgnore
    @Override
    public boolean isEnabled() {
        return enabled && super.isEnabled();
    }
}
