"""Named, deterministic sandbox scenarios: which blueprints exist and how their runs end."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from gate.errors import UsageError

PASSED = "passed"
FAILED = "failed"
NOT_COMPLETED = "Step not completed"


@dataclasses.dataclass(frozen=True)
class ActionSpec:
    description: str
    type: str = "click_element"
    #: Serve a screenshot (and a "before" one) from the sandbox's own /media/ path.
    screenshot: bool = True
    #: An exact URL to report instead (hostile scenarios put non-web URLs here).
    screenshot_url: str | None = None


@dataclasses.dataclass(frozen=True)
class StepSpec:
    task: str
    successful: bool
    result: str
    duration: int
    actions: tuple[ActionSpec, ...] = ()
    type: str = "act"


@dataclasses.dataclass(frozen=True)
class BlueprintSpec:
    """One blueprint and the run it produces: ``steps`` are the first attempt's results."""

    title: str
    starting_url: str
    steps: tuple[StepSpec, ...]
    final_status: str = PASSED
    duration_s: float = 5.0
    #: ``additional_attempts`` (each a tuple of step results), shown only once the run is final.
    attempts: tuple[tuple[StepSpec, ...], ...] = ()
    pending_status: str = "running"
    #: False: the run ends with ``results: null`` (undocumented but possible).
    results_when_final: bool = True
    video: bool = True
    video_url: str | None = None
    #: A login run: added to every trigger response although nobody asked for it.
    login: bool = False
    #: Accepted by the trigger, but no run for it appears in the response.
    omit_from_trigger: bool = False
    type: str = "integration"


@dataclasses.dataclass(frozen=True)
class Scenario:
    name: str
    blueprints: Mapping[int, BlueprintSpec]
    description: str

    @property
    def blueprint_ids(self) -> tuple[int, ...]:
        """The ids a user may pass to ``run --blueprint`` (login blueprints run implicitly)."""
        return tuple(bid for bid, spec in self.blueprints.items() if not spec.login)


def _step(task: str, *actions: str, result: str = "", duration: int = 6, ok: bool = True) -> StepSpec:
    described = tuple(ActionSpec(description=a) for a in actions)
    return StepSpec(task=task, successful=ok, result=result or f"Done: {task}", duration=duration, actions=described)


def _unreached(task: str) -> StepSpec:
    return StepSpec(task=task, successful=False, result=NOT_COMPLETED, duration=0)


# The documented Login Flow example (seed page of Get Test Run), texts verbatim.
LOGIN_FLOW = BlueprintSpec(
    title="Login Flow",
    starting_url="https://example.com/login",
    steps=(
        StepSpec(
            task="Enter 'user@example.com' in the email field",
            successful=False,
            result="The agent could not complete the objective because no email field was present on the page.",
            duration=43,
            actions=(
                ActionSpec(
                    description="Action: extract content with goal='Find any input fields'", type="extract_content"
                ),
            ),
        ),
        _unreached("Enter 'password123' in the password field"),
    ),
    final_status=FAILED,
    duration_s=8.0,
)

SIGN_UP = BlueprintSpec(
    title="Sign up with a new account",
    starting_url="https://shop.example.com/signup",
    steps=(
        _step("Open the sign-up page", "Action: go to url 'https://shop.example.com/signup'"),
        _step(
            "Enter a new email and password", "Action: input text into element 3", "Action: input text into element 4"
        ),
        _step("Submit the form", "Action: click element 7 ('Create account')", duration=9),
        _step("Verify the welcome message is shown", "Action: extract content with goal='welcome message'"),
    ),
    duration_s=5.0,
)

HOME_PAGE = BlueprintSpec(
    title="Home page loads",
    starting_url="https://shop.example.com/",
    steps=(
        _step("Open the home page", "Action: go to url 'https://shop.example.com/'", duration=3),
        _step("Verify the product grid is visible", "Action: extract content with goal='product grid'", duration=4),
    ),
    duration_s=3.0,
)

CHECKOUT = BlueprintSpec(
    title="Checkout with a saved card",
    starting_url="https://shop.example.com/cart",
    steps=(
        _step("Add the first product to the cart", "Action: click element 12 ('Add to cart')", duration=11),
        _step("Open the cart and press Checkout", "Action: click element 3 ('Checkout')", duration=8),
        StepSpec(
            task="Pay with the saved Visa card",
            successful=False,
            result="The payment form showed 'Card declined (code 51)' and the order was not placed.",
            duration=27,
            actions=(
                ActionSpec(description="Action: click element 21 ('Saved card •••• 4242')"),
                ActionSpec(description="Action: click element 25 ('Pay now')"),
                ActionSpec(description="Action: extract content with goal='payment result'", type="extract_content"),
            ),
        ),
        _unreached("Verify the order confirmation page"),
        _unreached("Verify the confirmation email was sent"),
    ),
    final_status=FAILED,
    duration_s=9.0,
)

_SEARCH_STEPS_OK = (
    _step("Type 'blue mug' into the search box", "Action: input text into element 2"),
    _step("Verify at least one result is shown", "Action: extract content with goal='search results'"),
)
SEARCH_FLAKY = BlueprintSpec(
    title="Search returns results",
    starting_url="https://shop.example.com/",
    steps=(
        _SEARCH_STEPS_OK[0],
        StepSpec(
            task="Verify at least one result is shown",
            successful=False,
            result="The results list was still loading after 30 seconds.",
            duration=31,
            actions=(ActionSpec(description="Action: wait for 30 seconds", type="wait"),),
        ),
    ),
    attempts=(_SEARCH_STEPS_OK,),
    duration_s=12.0,
)

PASSWORD_RESET_STOPPED = BlueprintSpec(
    title="Password reset email",
    starting_url="https://shop.example.com/forgot",
    steps=(
        _step("Request a reset link for user@example.com", "Action: input text into element 2", duration=7),
        _unreached("Open the reset link from the email"),
    ),
    final_status="stopped",
    duration_s=6.0,
)

FULL_JOURNEY_SLOW = BlueprintSpec(
    title="Full purchase journey",
    starting_url="https://shop.example.com/",
    steps=tuple(_step(f"Journey step {n}", f"Action: click element {n}", duration=60) for n in range(1, 16)),
    duration_s=900.0,
)

ALWAYS_FAILING_RETRIED = BlueprintSpec(
    title="Newsletter sign-up",
    starting_url="https://shop.example.com/newsletter",
    steps=(_step("Subscribe with a new email", result="The 'Subscribe' button was disabled.", ok=False),),
    attempts=((_step("Subscribe with a new email", result="The 'Subscribe' button was disabled.", ok=False),),),
    final_status=FAILED,
    duration_s=7.0,
)

LOGIN_RUN = BlueprintSpec(
    title="Log in as the test user",
    starting_url="https://shop.example.com/login",
    steps=(_step("Log in as qa@example.com", "Action: input text into element 2", "Action: click element 5"),),
    login=True,
    duration_s=2.0,
)

QUEUED_FIRST = dataclasses.replace(HOME_PAGE, title="Home page loads (queued first)", pending_status="queued")
MISSING_FROM_TRIGGER = dataclasses.replace(HOME_PAGE, title="Never started", omit_from_trigger=True)
FAILED_NO_RESULTS = dataclasses.replace(
    HOME_PAGE, title="Failed without results", final_status=FAILED, results_when_final=False, video=False
)


def generated(
    runs: int, steps: int, *, fail_every: int = 0, seed: int = 0, duration_s: float | tuple[float, float] = (5.0, 60.0)
) -> Scenario:
    """``runs`` blueprints (ids 1001..) of ``steps`` steps; every ``fail_every``-th fails at a seeded step."""
    import random  # only the generated scenarios need it

    if runs < 1 or steps < 1 or fail_every < 0:
        raise UsageError("generated scenarios need at least 1 run and 1 step, and fail_every >= 0")
    rng = random.Random(seed)
    low, high = duration_s if isinstance(duration_s, tuple) else (duration_s, duration_s)
    blueprints: dict[int, BlueprintSpec] = {}
    for index in range(runs):
        fails = fail_every > 0 and index % fail_every == fail_every - 1
        fail_at = rng.randint(1, steps) if fails else 0
        results = tuple(_generated_step(n, fail_at) for n in range(1, steps + 1))
        blueprints[1001 + index] = BlueprintSpec(
            title=f"Generated test {index + 1:04d}",
            starting_url=f"https://app.example.com/flows/{index + 1}",
            steps=results,
            final_status=FAILED if fails else PASSED,
            duration_s=round(rng.uniform(low, high), 3),
        )
    description = f"{runs} generated runs x {steps} steps" + (f", every {fail_every}th fails" if fail_every else "")
    return Scenario(name=f"generated:{runs}x{steps}", blueprints=blueprints, description=description)


def _generated_step(number: int, fail_at: int) -> StepSpec:
    task = f"Open section {number} and check its heading"  # reports add "Step {number}: " themselves
    if fail_at and number > fail_at:
        return _unreached(task)
    if number == fail_at:
        return _step(task, f"Action: click element {number}", result=f"Heading {number} was missing.", ok=False)
    return _step(task, f"Action: click element {number}", duration=2 + number % 7)


def timed(durations: Sequence[float], *, failing: frozenset[int] = frozenset(), name: str = "timed") -> Scenario:
    """One single-step blueprint (1001, 1002, ...) per duration; the indexes in ``failing`` fail at their step.
    For tests and benchmarks of when runs finish (the lead-run policy)."""
    blueprints = {}
    for index, duration in enumerate(durations):
        fails = index in failing
        step = StepSpec(task="Open the page", successful=not fails, result="no heading" if fails else "ok", duration=2)
        blueprints[1001 + index] = BlueprintSpec(
            title=f"Flow {index + 1:02d}", starting_url="https://app.example.com/", steps=(step,),
            final_status=FAILED if fails else PASSED, duration_s=duration,
        )
    return Scenario(name=name, blueprints=blueprints, description=f"{len(durations)} runs")
