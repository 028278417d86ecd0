"""DAgger-style model learning (Ross & Bagnell 2012): the expert/learner data mix of every fit
minibatch, the iteration loop that refits the model on the learner's own states and plans in it,
and the simulation lemma's Model A / Model B question."""

TITLE = "DAgger-style model learning"
STUDENT_FILE = "dagger.py"
