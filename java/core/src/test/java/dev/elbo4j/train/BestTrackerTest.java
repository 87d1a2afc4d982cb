package dev.elbo4j.train;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The best-epoch tracker: strict improvement, NaN never best, the patience count and its JSON round trip. */
class BestTrackerTest {

    @Test
    void keepsTheHighestFigureAndCountsEpochsSince() {
        BestTracker t = new BestTracker(2);
        assertTrue(Double.isNaN(t.best()));
        assertEquals(0, t.bestEpoch());
        assertFalse(t.update(1, Double.NaN)); // NaN never improves, not even on nothing
        assertTrue(t.update(2, -100));
        assertTrue(t.update(3, -90));
        assertFalse(t.update(4, -90)); // a tie keeps the earlier epoch
        assertFalse(t.shouldStop());
        assertFalse(t.update(5, -95));
        assertEquals(3, t.bestEpoch());
        assertEquals(-90, t.best());
        assertEquals(2, t.epochsSinceBest());
        assertTrue(t.shouldStop());
        assertTrue(t.update(6, -80)); // an improvement resets the count
        assertFalse(t.shouldStop());
        assertEquals(0, t.epochsSinceBest());
    }

    @Test
    void withoutPatienceItNeverStops() {
        BestTracker t = new BestTracker(0);
        t.update(1, 1);
        for (int e = 2; e < 100; e++) t.update(e, 0);
        assertFalse(t.shouldStop());
        assertThrows(IllegalArgumentException.class, () -> new BestTracker(-1));
    }

    @Test
    void usesTheTestObjectiveOfAnEpochResult() {
        BestTracker t = new BestTracker(1);
        assertTrue(t.update(new EpochResult(1, 10, -120, -110, 1, Map.of())));
        assertFalse(t.update(new EpochResult(2, 20, -100, -111, 1, Map.of()))); // the training figure rose: not what counts
        assertEquals(1, t.bestEpoch());
        assertTrue(t.shouldStop());
    }

    @Test
    void itsStateSurvivesJson() {
        BestTracker t = new BestTracker(3);
        t.update(1, -5.123456789012345);
        t.update(2, -6);
        BestTracker u = BestTracker.fromJson(dev.elbo4j.io.Json.parseObject(dev.elbo4j.io.Json.write(t.toJson())), 3);
        assertEquals(t.best(), u.best()); // bit for bit
        assertEquals(1, u.bestEpoch());
        assertEquals(1, u.epochsSinceBest());
        u.update(3, -7);
        u.update(4, -7);
        assertTrue(u.shouldStop());
        BestTracker none = BestTracker.fromJson(new BestTracker(0).toJson(), 0);
        assertTrue(Double.isNaN(none.best()));
        assertThrows(IllegalArgumentException.class, () -> BestTracker.fromJson(Map.of("best_epoch", 2, "epochs_since_best", 0), 0));
        assertThrows(IllegalArgumentException.class, () -> BestTracker.fromJson(Map.of("best", 1.0), 0));
    }
}
