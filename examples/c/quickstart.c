/* Quickstart: open an engine, apply a vertical, issue a key, run a turn, print the reply.
 * Build: make -C examples/c BRAIN=<prefix with include/ and lib/>   (see the README) */
#include <stdio.h>
#include <string.h>

#include "brain.h"

static int fail(const char *what, brain_error *err) {
  fprintf(stderr, "%s failed (%s): %s\n", what, brain_error_code(err), brain_error_message(err));
  brain_error_free(err);
  return 1;
}

int main(void) {
  brain_engine *engine = NULL;
  brain_error *err = NULL;
  if (brain_engine_open(NULL, NULL, &engine, &err) != BRAIN_STATUS_OK) return fail("open", err);
  if (brain_tenant_create(engine, "acme", "Acme Parties", "starter", &err) != BRAIN_STATUS_OK) return fail("tenant", err);
  if (brain_marketplace_apply(engine, "acme", "party_supplies", NULL, &err) != BRAIN_STATUS_OK) return fail("apply", err);

  char *issued = NULL;
  if (brain_key_issue(engine, "acme", "C quickstart", NULL, 0, &issued, &err) != BRAIN_STATUS_OK) return fail("key", err);
  char auth[128];
  snprintf(auth, sizeof auth, "Bearer %.65s", strstr(issued, "pk_live_"));
  brain_string_free(issued);

  char *response = NULL;
  const char *request = "{\"channel\":\"web\",\"channel_user_id\":\"user-abc\",\"message_text\":\"I need party supplies for 12 kids\"}";
  if (brain_respond_with_key(engine, auth, request, &response, &err) != BRAIN_STATUS_OK) return fail("respond", err);
  printf("%s\n", response);
  brain_string_free(response);
  brain_engine_free(engine);
  return 0;
}
